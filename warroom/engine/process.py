"""A step's command as a real child process: its own process group, output streamed as it
comes, and a stop that ends the whole group (a shell's children included).

The child is spawned with `subprocess.Popen` and watched from the event loop itself: its pipes
through `add_reader`, its exit through a pidfd (a waiting thread where the platform has none).
asyncio's subprocess transports cost about 0.3 ms of loop time per child (a task to connect
each pipe, a thread to wait for each child), which was a third of the engine's time on a
runbook of short commands (`python tests/bench/bench_engine.py`).
"""

from __future__ import annotations

import asyncio
import codecs
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from warroom.engine.orphans import signal_escaped

KILL_GRACE_S = 2.0
CAPTURE_LIMIT = 1 << 20  # stdout kept for output capture; the journal gets all of it
READ_SIZE = 65536


@dataclass
class ProcessResult:
    exit_code: int  # negative: ended by that signal
    stdout: str  # the first CAPTURE_LIMIT characters, for outputs
    stopped: bool  # ended by stop(): a timeout or a cancel


class CommandNotStarted(Exception):
    """The command could not be spawned (missing program, not executable)."""


class StepProcess:
    """One run of a command: `start`, then `wait` for its result; `stop` or `kill_now` end it."""

    def __init__(self, argv: Sequence[str], on_output: Callable[[str, str], None],
                 env: Mapping[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.env = {**os.environ, **env} if env else None  # values of the command's placeholders
        self.on_output = on_output
        self.popen: subprocess.Popen[bytes] | None = None
        self._stopped = False
        self._kept: list[str] = []
        self._kept_size = 0
        self._pidfd: int | None = None

    def start(self) -> None:
        """Spawns the child and starts watching it; CommandNotStarted if it cannot run."""
        loop = asyncio.get_running_loop()
        try:
            self.popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, start_new_session=True, env=self.env,
            )
        except OSError as exc:
            raise CommandNotStarted(f"cannot start {self.argv[0]!r}: {exc.strerror}") from None
        self._loop = loop
        self._exited: asyncio.Future[None] = loop.create_future()
        self._drained: asyncio.Future[None] = loop.create_future()
        self._open_pipes = 2
        assert self.popen.stdout is not None and self.popen.stderr is not None
        for name, pipe in (("stdout", self.popen.stdout), ("stderr", self.popen.stderr)):
            os.set_blocking(pipe.fileno(), False)
            decoder = codecs.getincrementaldecoder("utf-8")("backslashreplace")  # non-UTF-8 bytes kept as \xNN
            loop.add_reader(pipe.fileno(), self._read, pipe, name, decoder)
        self._watch_exit()

    async def wait(self) -> ProcessResult:
        """The result once the child has exited and both its pipes are drained."""
        assert self.popen is not None
        try:
            await self._drained
            await asyncio.shield(self._exited)
        except asyncio.CancelledError:
            self._detach()
            raise
        code = self.popen.returncode
        assert code is not None
        return ProcessResult(code, "".join(self._kept), self._stopped)

    async def stop(self) -> None:
        """SIGTERM to the group and to the processes that left it, SIGKILL after a grace
        period; the step is over once none of them holds its output open."""
        if self.popen is None or (self._exited.done() and self._drained.done()):
            return
        self._stopped = True
        self._signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.gather(self._exited, self._drained)), KILL_GRACE_S)
        except asyncio.TimeoutError:
            self._signal(signal.SIGKILL)

    def kill_now(self) -> None:
        """For the last moments of an interrupted run: no waiting."""
        if self.popen is not None and not (self._exited.done() and self._drained.done()):
            self._stopped = True
            self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        assert self.popen is not None
        _signal_group(self.popen.pid, sig)
        if self.env is not None:
            signal_escaped(self.env, sig)

    def _detach(self) -> None:
        """Stops watching (the waiter was cancelled: the loop is going away)."""
        assert self.popen is not None
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None and not pipe.closed:
                self._loop.remove_reader(pipe.fileno())
                pipe.close()
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def _read(self, pipe: IO[bytes], name: str, decoder: codecs.IncrementalDecoder) -> None:
        fd = pipe.fileno()
        try:
            data = os.read(fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""  # a broken pipe ends the stream like EOF
        text = decoder.decode(data, final=not data)
        if text:
            self.on_output(name, text)
            if name == "stdout" and self._kept_size < CAPTURE_LIMIT:
                self._kept.append(text[: CAPTURE_LIMIT - self._kept_size])
                self._kept_size += len(self._kept[-1])
        if not data:
            self._loop.remove_reader(fd)
            pipe.close()
            self._open_pipes -= 1
            if self._open_pipes == 0:
                self._drained.set_result(None)

    def _watch_exit(self) -> None:
        assert self.popen is not None
        try:
            pidfd = os.pidfd_open(self.popen.pid)
        except (AttributeError, OSError):  # not Linux 5.3+, or a sandbox that forbids it
            threading.Thread(target=self._wait_in_thread, daemon=True).start()
            return
        self._pidfd = pidfd
        self._loop.add_reader(pidfd, self._pidfd_ready)

    def _pidfd_ready(self) -> None:
        assert self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        self._reaped()

    def _wait_in_thread(self) -> None:
        assert self.popen is not None
        self.popen.wait()
        try:
            self._loop.call_soon_threadsafe(self._reaped)
        except RuntimeError:
            pass  # the loop has closed: nobody is waiting for this child any more

    def _reaped(self) -> None:
        assert self.popen is not None
        self.popen.wait()  # it has exited: this only collects the status
        if not self._exited.done():
            self._exited.set_result(None)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
