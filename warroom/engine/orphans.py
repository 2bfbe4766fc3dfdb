"""Finding a step's processes by what they carry, not by their process group.

Every step process is spawned with its incident, step and attempt in its environment, and its
children inherit them. A child that leaves the step's process group (`setsid`, a daemonizing
script) is still found by them, so stopping a step stops it too; and a resume finds the
processes a killed runner left running, so it never starts a second copy beside them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping

INCIDENT, STEP, ATTEMPT = "WARROOM_INCIDENT", "WARROOM_STEP", "WARROOM_ATTEMPT"


def step_env(incident: str, step: str, attempt: str) -> dict[str, str]:
    """What a step's command sees of who it is (also how its processes are found)."""
    return {INCIDENT: incident, STEP: step, ATTEMPT: attempt}


def start_ticks(pid: int) -> int | None:
    """When a live process started, in clock ticks since boot (None when it is gone or a
    zombie): with its pid, it names one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in (b"Z", b"X") else int(fields[19])


def _environ(pid: int) -> dict[str, str] | None:
    """A live process's marks (None for a zombie, one gone, or another user's)."""
    if start_ticks(pid) is None:
        return None
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs
            if k in (INCIDENT.encode(), STEP.encode(), ATTEMPT.encode())}


def _pids() -> list[int]:
    try:
        return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []  # no /proc: only the process group is known


def still_running(incident: str, journaled: Mapping[str, tuple[int, int | None]] | None = None) -> dict[str, list[int]]:
    """The live processes of `incident`'s steps, by step (an undo's under its step too): those
    that carry its marks, and the `journaled` (pid, start) of steps that were running, in case
    a command scrubbed its environment."""
    found: dict[str, list[int]] = {}
    for step, (pid, start) in (journaled or {}).items():
        if start is not None and start_ticks(pid) == start:
            found.setdefault(step, []).append(pid)
    me = os.getpid()
    for pid in _pids():
        env = _environ(pid) if pid != me else None
        if env and env.get(INCIDENT) == incident and STEP in env and pid not in found.get(env[STEP], ()):
            found.setdefault(env[STEP], []).append(pid)
    return {step: sorted(pids) for step, pids in sorted(found.items())}


def signal_escaped(env: Mapping[str, str], sig: signal.Signals) -> None:
    """Sends `sig` to every live process that carries the same incident, step and attempt as
    `env`, wherever its process group is."""
    mark = {k: env[k] for k in (INCIDENT, STEP, ATTEMPT) if k in env}
    if len(mark) < 3:
        return
    for pid in _pids():
        found = _environ(pid)
        if found == mark:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
