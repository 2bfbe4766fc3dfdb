"""Drives a real Engine on a real SQLite journal for the tests/test_engine_*.py modules.

Kept out of conftest.py so the engine tests share one harness without reaching into other
engineers' fixtures: a runbook is written to a file (problems point at file:line), the engine
runs in-process on the journal in tmp_path, and the assertions read the journal back with the
same JournalReader a user's `warroom report` uses.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from warroom.engine.clock import Clock, RealClock, VirtualClock
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, Outcome
from warroom.journal.events import Event
from warroom.journal.state import IncidentState, StepStatus
from warroom.journal.store import JournalReader, JournalWriter
from warroom.runbook.loader import load_runbook
from warroom.runbook.model import Runbook

ROOT = Path(__file__).resolve().parent.parent


def write_runbook(tmp_path: Path, text: str, name: str = "rb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def runbook(tmp_path: Path, text: str) -> Runbook:
    return load_runbook(write_runbook(tmp_path, text))


@dataclass
class Run:
    """A finished in-process run: what the engine returned and what the journal holds."""

    engine: Engine
    outcome: Outcome
    events: list[Event]
    state: IncidentState

    def of(self, type_: str, step: str | None = None) -> list[Event]:
        return [e for e in self.events if e.type == type_ and (step is None or e.step == step)]

    def first(self, type_: str, step: str | None = None) -> Event:
        found = self.of(type_, step)
        assert found, f"no {type_} for {step}"
        return found[0]

    def status(self, step: str) -> StepStatus:
        return self.state.steps[step].status

    def max_running(self) -> int:
        """The most steps ever running at once, from the journal's start and end events."""
        ends = {"step.succeeded", "step.failed", "step.timed_out", "step.cancelled", "step.retry_scheduled"}
        running: set[str] = set()
        peak = 0
        for e in self.events:
            if e.type == "step.started":
                running.add(e.step or "")
                peak = max(peak, len(running))
            elif e.type in ends:
                running.discard(e.step or "")
        return peak


async def drive(
    db: Path,
    rb: Runbook,
    *,
    drill: bool = False,
    auto: bool = False,
    seed: int = 0,
    injects: tuple[Any, ...] = (),
    actor: str = "alice",
    clock: Clock | None = None,
    stop_when_waiting: bool = True,
    during: Callable[[Engine], Awaitable[None]] | None = None,
) -> Run:
    """Runs `rb` to its end (or until only people can act); `during` acts on the live engine."""
    writer = await JournalWriter.open(db)
    try:
        clock = clock or (VirtualClock(speed=None, start_wall=1_700_000_000.0) if drill else RealClock())
        options = RunOptions(actor=actor, drill=drill, seed=seed, speed=None, auto=auto,
                             stop_when_waiting=stop_when_waiting, injects=injects)
        engine = Engine(writer, rb, options, clock)
        incident = await engine.start([])
        runner = asyncio.create_task(engine.run())
        if during is not None:
            await during(engine)
        outcome = await asyncio.wait_for(runner, 20)
    finally:
        await writer.close()
    with JournalReader(db) as reader:
        events = list(reader.events(incident))
        state = reader.state(incident)
    return Run(engine, outcome, events, state)


async def until(engine: Engine, test: Callable[[IncidentState], bool], timeout: float = 10.0) -> None:
    """Waits until the live state passes `test` (checked after every journaled event)."""
    if test(engine.state):
        return
    hit = asyncio.Event()

    def listener(_: Event) -> None:
        if test(engine.state):
            hit.set()

    engine.listeners.append(listener)
    try:
        await asyncio.wait_for(hit.wait(), timeout)
    finally:
        engine.listeners.remove(listener)


def status_is(step: str, *statuses: StepStatus) -> Callable[[IncidentState], bool]:
    return lambda st: st.steps[step].status in statuses


def cli(*args: str, cwd: Path | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m warroom ...` in a subprocess, as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "warroom", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def journal_state(db: Path, incident: str | None = None) -> IncidentState:
    with JournalReader(db) as reader:
        return reader.state(incident)


def journal_events(db: Path, incident: str | None = None) -> list[Event]:
    with JournalReader(db) as reader:
        return list(reader.events(reader.resolve(incident).id))


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is still in process group `pgid`. Zombies count as
    gone: they run nothing, and a container's init may never reap orphans."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def wait_until(test, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout}s waiting for {what}")
        time.sleep(0.005)


LONG_RUNBOOK = """\
    runbook: long
    vars: {{dir: "{dir}"}}
    steps:
      - id: soak
        idempotent: true
        run: test -e {{{{ vars.dir }}}}/marker && exit 0; touch {{{{ vars.dir }}}}/marker; echo $$ > {{{{ vars.dir }}}}/pgid; sleep 30 & echo $! > {{{{ vars.dir }}}}/grandchild; wait
"""


def start_long_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    """A headless run whose one step sleeps 30 s, once the step's process is up."""
    rb = write_runbook(tmp_path, LONG_RUNBOOK.format(dir=tmp_path))
    journal = tmp_path / "j.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal), *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    started = tmp_path / "grandchild"  # written last, once the step's shell has forked its sleep
    wait_until(lambda: started.exists() and started.read_text().strip() != "", "the step to start")
    return proc, journal


def answer_people(journal: Path, state: IncidentState) -> None:
    """The scripted person: approves every gate as someone who may (not the starter, under
    four eyes; else bob), marks every manual step done as bob."""
    from warroom.cli import main
    from warroom.journal.state import WaitReason

    for sid, s in state.steps.items():
        if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on is WaitReason.PERSON:
            approval = state.approvals.get(sid)
            verb = "approve" if approval is not None else "done"
            who = [p for p in (approval.approvers if approval else ()) if p != state.starter] or ["bob"]
            assert main([verb, sid, "--as", who[0], "--journal", str(journal)]) == 0, (verb, sid, who)


def carry_to_end(journal: Path, first: list[str]) -> IncidentState:
    """Runs the command line in-process until the run ends, the scripted person answering
    each time it stops waiting for one (exit 3)."""
    from warroom.cli import main

    code = main(first)
    for _ in range(30):
        state = journal_state(journal)
        if code != 3:
            return state
        answer_people(journal, state)
        code = main(["resume", "--headless", "--journal", str(journal)])
    raise AssertionError("the run never ended")
