"""The runner: carries out what decisions ask for, and reports back through the queue.

It owns what cannot be journaled: the step processes (known by step id while they run, so a
timeout, a cancel or an interrupt can end them) and the tasks that wait for them. Effects
arrive only after the events that decided them are durable (write-ahead).
"""

from __future__ import annotations

import asyncio
from typing import Any

from warroom.engine.clock import Clock
from warroom.engine.effects import Effect, Page, Spawn, SpawnUndo, Stop
from warroom.engine.inputs import Done, Exited, Spawned, StopReason, UndoDone
from warroom.engine.orphans import start_ticks, step_env
from warroom.engine.process import CommandNotStarted, ProcessResult, StepProcess
from warroom.journal.store import JournalWriter
from warroom.runbook.templates import RenderedCommand

PAGE_GRACE_S = 5.0
"""How long a run that has ended waits for a notify command still paging, before killing it."""


class Runner:
    def __init__(self, writer: JournalWriter, clock: Clock, reports: asyncio.Queue[Any]) -> None:
        self.writer = writer
        self.clock = clock
        self.reports = reports
        self.procs: dict[str, StepProcess] = {}
        self.tokens: dict[str, int] = {}  # the attempt token of each step's process
        self.ending: dict[str, StopReason] = {}  # why a process is being stopped
        self.tasks: set[asyncio.Task[None]] = set()  # step and undo processes in flight
        self.pages: set[asyncio.Task[None]] = set()  # notify commands: never waited for by a step
        self.page_procs: set[StepProcess] = set()

    def do(self, effect: Effect) -> None:
        if isinstance(effect, Spawn):
            self._spawn(effect)
        elif isinstance(effect, SpawnUndo):
            self._spawn_undo(effect)
        elif isinstance(effect, Page):
            self._page(effect)
        elif isinstance(effect, Stop):
            self._stop(effect)

    def busy(self) -> bool:
        """Real work in flight (a finished task may wait a loop turn to leave the set)."""
        return any(not task.done() for task in self.tasks)

    # processes ------------------------------------------------------------------------------
    def _open(self, sid: str, command: RenderedCommand, attempt: str) -> StepProcess:
        """Spawns a step's command, its undo or its page, its output streaming into the
        journal, marked with who it is (`orphans`). CommandNotStarted when it cannot be spawned."""

        def on_output(stream: str, chunk: str) -> None:
            self.writer.append_output_chunk(sid, stream, chunk, ts=self.clock.wall(), mono=self.clock.now())

        env = {**command.env, **step_env(self.writer.incident or "", sid, attempt)}
        proc = StepProcess(command.argv, on_output, env=env)
        proc.start()
        return proc

    async def _settle(self, sid: str, proc: StepProcess) -> ProcessResult:
        try:
            return await proc.wait()
        finally:
            if self.procs.get(sid) is proc:
                del self.procs[sid]
            for stream in ("stdout", "stderr"):
                self.writer.end_output(sid, stream, ts=self.clock.wall(), mono=self.clock.now())

    def _track(self, task: asyncio.Task[None], into: set[asyncio.Task[None]]) -> None:
        into.add(task)
        task.add_done_callback(into.discard)

    def _spawn(self, effect: Spawn) -> None:
        try:
            proc = self._open(effect.step, effect.command, str(effect.attempt))
        except CommandNotStarted as exc:
            self.reports.put_nowait(Done(effect.step, effect.token, False, 127, reason=str(exc)))
            return
        self.procs[effect.step] = proc
        self.tokens[effect.step] = effect.token
        assert proc.popen is not None
        self.reports.put_nowait(Spawned(effect.step, effect.token, proc.popen.pid, start_ticks(proc.popen.pid)))
        self._track(asyncio.create_task(self._report(effect.step, effect.token, proc)), self.tasks)

    async def _report(self, sid: str, token: int, proc: StepProcess) -> None:
        result = await self._settle(sid, proc)
        stopped = self.ending.pop(sid, None)
        self.reports.put_nowait(Exited(sid, token, result.exit_code, result.stdout, stopped))

    def _spawn_undo(self, effect: SpawnUndo) -> None:
        try:
            proc = self._open(effect.step, effect.command, "undo")
        except CommandNotStarted as exc:
            self.reports.put_nowait(UndoDone(effect.step, False, str(exc)))
            return
        self.procs[effect.step] = proc
        self._track(asyncio.create_task(self._report_undo(effect.step, proc)), self.tasks)

    async def _report_undo(self, sid: str, proc: StepProcess) -> None:
        result = await self._settle(sid, proc)
        self.reports.put_nowait(UndoDone(sid, result.exit_code == 0, f"exit code {result.exit_code}"))

    def _page(self, effect: Page) -> None:
        try:
            proc = self._open(effect.step, effect.command, "page")
        except CommandNotStarted as exc:
            self.writer.append_output(effect.step, "stderr", f"notify: {exc}", ts=self.clock.wall(), mono=self.clock.now())
            return
        self.page_procs.add(proc)
        self._track(asyncio.create_task(self._settle_page(effect.step, proc)), self.pages)

    async def _settle_page(self, sid: str, proc: StepProcess) -> None:
        try:
            await proc.wait()
        finally:
            for stream in ("stdout", "stderr"):
                self.writer.end_output(sid, stream, ts=self.clock.wall(), mono=self.clock.now())
        self.page_procs.discard(proc)

    def _stop(self, effect: Stop) -> None:
        proc = self.procs.get(effect.step)
        if proc is not None and self.tokens.get(effect.step) == effect.token:
            self.ending[effect.step] = effect.why
            self._track(asyncio.create_task(proc.stop()), self.tasks)
            return
        self.reports.put_nowait(Done(effect.step, effect.token, False, None, reason=effect.why.value, stopped=effect.why))

    # leaving ---------------------------------------------------------------------------------
    def kill_all(self) -> None:
        """Ends every running process group at once (the run is being left)."""
        for proc in [*self.procs.values(), *self.page_procs]:
            proc.kill_now()

    async def drain(self, timeout: float) -> None:
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=timeout)

    async def finish_pages(self) -> None:
        """A page still running when the run ends gets a grace period, then is stopped."""
        if self.pages:
            await asyncio.wait(list(self.pages), timeout=PAGE_GRACE_S)
        for proc in list(self.page_procs):
            proc.kill_now()
