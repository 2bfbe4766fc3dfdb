"""A step's command as a real child process: its own process group, output streamed as it
comes, and a stop that ends the whole group (a shell's children included)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

KILL_GRACE_S = 2.0
CAPTURE_LIMIT = 1 << 20  # stdout kept for output capture; the journal gets all of it


@dataclass
class ProcessResult:
    exit_code: int
    stdout: str  # the first CAPTURE_LIMIT characters, for outputs
    stopped: bool  # ended by stop(): a timeout or a cancel


class StepProcess:
    """One attempt of a run or check command."""

    def __init__(self, argv: Sequence[str], on_output: Callable[[str, str], None],
                 env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.on_output = on_output
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None
        self._stopped = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    async def start(self) -> None:
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                env=self.env,
            )
        except OSError as exc:
            raise CommandNotStarted(f"cannot start {self.argv[0]!r}: {exc.strerror}") from None

    async def wait(self) -> ProcessResult:
        assert self.proc is not None
        kept: list[str] = []
        size = 0

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            nonlocal size
            while chunk := await stream.read(65536):
                text = chunk.decode("utf-8", errors="replace")
                self.on_output(name, text)
                if name == "stdout" and size < CAPTURE_LIMIT:
                    kept.append(text[: CAPTURE_LIMIT - size])
                    size += len(kept[-1])

        await asyncio.gather(pump(self.proc.stdout, "stdout"), pump(self.proc.stderr, "stderr"))
        code = await self.proc.wait()
        return ProcessResult(code, "".join(kept), self._stopped)

    async def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after a grace period."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self._stopped = True
        _signal_group(self.proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), KILL_GRACE_S)
        except asyncio.TimeoutError:
            _signal_group(self.proc.pid, signal.SIGKILL)

    def kill_now(self) -> None:
        """For the last moments of an interrupted run: no waiting."""
        if self.proc is not None and self.proc.returncode is None:
            self._stopped = True
            _signal_group(self.proc.pid, signal.SIGKILL)


class CommandNotStarted(Exception):
    """The command could not be spawned (missing program, not executable)."""


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def child_env(secret_names: Sequence[str]) -> dict[str, str]:
    """The environment for step commands: ours, secrets included (commands need them)."""
    return dict(os.environ)
