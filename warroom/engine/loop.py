"""The engine: one loop that takes the next input, decides, commits, then acts.

Inputs (reports, commands, due timers) come one at a time; each goes through `decide`, whose
events are staged and folded at once and committed before any effect they imply is carried
out, so a step's start is durable before its process exists and its result before any
dependent starts. The loop is the only place state changes, which keeps a drill with the same
seed exactly repeatable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from warroom.engine import decide, policy
from warroom.engine.clock import Clock
from warroom.engine.commands import OperatorCommand, Refused
from warroom.engine.drill import Inject
from warroom.engine.effects import Arm, Effect
from warroom.engine.inputs import Command, Done, Exited, Facilitate, Interrupt, JournalFailed, Spawned, UndoDone
from warroom.engine.ledger import Ledger, RunOptions
from warroom.engine.outcome import Outcome
from warroom.engine.runner import Runner
from warroom.engine.schedule import schedule
from warroom.engine.timers import Timer, TimerHeap, TimerKind
from warroom.journal.events import Event, EventType
from warroom.journal.state import IncidentState, RunResult
from warroom.journal.reducer import Reducer
from warroom.journal.store import JournalWriter
from warroom.runbook.model import Runbook

MAX_STAGED = 2048
"""Staged events are committed at the latest when this many are waiting."""
EventListener = Callable[[Event], None]
OutputListener = Callable[[str | None, str, str], None]
Shown = Event | tuple[str | None, str, str, float]


class Engine:
    def __init__(self, writer: JournalWriter, runbook: Runbook, options: RunOptions, clock: Clock) -> None:
        self.writer = writer
        self.runbook = runbook
        self.options = options
        self.clock = clock
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.ledger = Ledger(runbook, options, clock, writer.stage, self._write_output)
        self.runner = Runner(writer, clock, self.queue)
        self.timers = TimerHeap()
        self.ended = False  # run() has returned: commands are refused instead of never answered
        self.unshown: list[Shown] = []  # committed or staged, not yet shown to listeners
        self.acts: list[Effect | asyncio.Future[None]] = []  # effects and answers that wait for the commit
        self.output_mono = 0.0  # the run-clock time of the output line being shown
        self.listeners: list[EventListener] = []
        self.output_listeners: list[OutputListener] = []
        writer.output_listener = self._on_output_row
        writer.on_failure = lambda error: self.queue.put_nowait(JournalFailed(error))

    @property
    def state(self) -> IncidentState:
        return self.ledger.state

    # journaling and acting ------------------------------------------------------------------
    def _collect(self) -> None:
        """Takes what a decision staged and asked for: timers armed now, acts after the commit."""
        events, effects = self.ledger.take()
        self.unshown.extend(events)
        for effect in effects:
            if isinstance(effect, Arm):
                self.timers.push(effect.due, effect.timer)
            else:
                self.acts.append(effect)

    async def commit(self) -> None:
        """Makes staged events durable, shows them, then carries out what waited for them."""
        self._collect()
        if self.unshown or self.acts:
            await self.writer.flush()
        shown, self.unshown = self.unshown, []
        for item in shown:
            if isinstance(item, tuple):
                self._show_output(*item)
            else:
                for listener in self.listeners:
                    listener(item)
        acts, self.acts = self.acts, []
        for act in acts:
            if isinstance(act, asyncio.Future):
                if not act.done():
                    act.set_result(None)
            else:
                self.runner.do(act)

    def _write_output(self, step: str, stream: str, text: str) -> None:
        self.writer.append_output(step, stream, text, ts=self.clock.wall(), mono=self.clock.now())

    def _on_output_row(self, row: tuple[Any, ...], stream: str, line: str) -> None:
        """Output is shown as it comes, except behind staged events, to keep journal order."""
        self.ledger.reducer.apply_rows([row])
        if self.ledger.staged:  # events staged before this line are shown before it
            self.unshown.extend(self.ledger.staged)
            self.ledger.staged = []
        if self.unshown:
            self.unshown.append((row[6], stream, line, row[3]))
            return
        self._show_output(row[6], stream, line, row[3])

    def _show_output(self, step: str | None, stream: str, line: str, mono: float) -> None:
        self.output_mono = mono
        for listener in self.output_listeners:
            listener(step, stream, line)

    # starting and resuming -------------------------------------------------------------------
    async def start(self, secret_values: list[str]) -> str:
        o = self.options
        data: dict[str, Any] = {
            "vars": self.runbook.vars, "drill": o.drill, "seed": o.seed,
            "speed": "max" if o.speed is None else o.speed, "auto": o.auto,
            "source": o.source, "starter": o.actor,
        }
        if o.injects:
            data["injects"] = [inject.planned() for inject in o.injects]
        incident = await self.writer.start_incident(
            self.runbook, actor=o.actor, ts=self.clock.wall(), mono=self.clock.now(),
            data=data, secrets=secret_values,
        )
        first = self.writer.first_event
        assert first is not None
        self.ledger.reducer.apply(first)
        for listener in self.listeners:
            listener(first)
        decide.started(self.ledger)
        self._collect()
        return incident

    async def resume(self, incident: str, folded: Reducer, runbook_note: dict[str, Any]) -> None:
        """Goes on from the journal as folded (under the writer's lock), settling what a
        crash left open (see decide.resumed)."""
        await self.writer.resume_incident(incident)
        self.ledger.reducer = folded
        decide.resumed(self.ledger, runbook_note)
        self._collect()

    # the loop --------------------------------------------------------------------------------
    async def run(self) -> Outcome:
        try:
            return await self._loop()
        finally:
            await self.commit()
            self.ended = True
            await self.runner.finish_pages()
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if isinstance(item, (Command, Facilitate)) and not item.future.done():
                    item.future.set_exception(self.ended_refusal())

    def ended_refusal(self) -> Refused:
        return Refused(f"this run has stopped ({self.state.result.value}); act from a shell, then resume it")

    def _settle(self) -> bool:
        """Starts what can start; True when the run has ended."""
        schedule(self.ledger)
        finished = policy.finish_if_done(self.ledger)
        self._collect()
        return finished

    async def _loop(self) -> Outcome:
        while True:
            if self._settle():
                if not self.options.linger or not await self._linger():
                    return Outcome.FINISHED
                continue
            item = await self.next_item()
            if item is None:
                self.ledger.emit(self.ledger.event(EventType.RUN_FINISHED, result=RunResult.WAITING.value))
                return Outcome.WAITING
            if isinstance(item, Interrupt):
                await self._interrupt(item.signal)
                return Outcome.INTERRUPTED
            if isinstance(item, JournalFailed):
                self.runner.kill_all()
                raise item.error
            self._handle(item)

    def _handle(self, item: Any) -> None:
        ld = self.ledger
        if isinstance(item, Command):
            try:
                decide.command(ld, item.command)
            except Refused as exc:
                if not item.future.done():
                    item.future.set_exception(exc)
                return
            self._answer(item.future)
        elif isinstance(item, Spawned):
            decide.spawned(ld, item)
        elif isinstance(item, Exited):
            decide.exited(ld, item)
        elif isinstance(item, Done):
            decide.report(ld, item)
        elif isinstance(item, UndoDone):
            decide.undo_report(ld, item)
        elif isinstance(item, Timer):
            decide.timer(ld, item)
        elif isinstance(item, Facilitate):
            decide.inject(ld, item.inject, item.actor)
            self._answer(item.future)
        self._collect()

    def _answer(self, future: asyncio.Future[None]) -> None:
        """A command or inject is answered once what it journaled is durable."""
        self.acts.append(future)

    async def _linger(self) -> bool:
        """After the end, in a console: notes and claims are journaled as usual, and a retry,
        skip, done or undo of a failed run reopens it (run.resumed); True when it reopened,
        False when the console leaves."""
        await self.commit()
        ld = self.ledger
        while True:
            item = await self.queue.get()
            if isinstance(item, Interrupt):
                return False
            if isinstance(item, Facilitate):
                item.future.set_exception(Refused("the drill has ended"))
                continue
            if not isinstance(item, Command):
                continue  # a late report of an action that ended with the run
            self._handle(item)
            refused = item.future.done() and item.future.exception() is not None
            if not refused and decide.reopens(ld, item.command):
                ld.emit(ld.event(EventType.RUN_RESUMED, actor=item.command.actor, runbook_changed=False,
                                 diff=f"reopened by {item.command.action.value} {item.command.target}"))
                ld.dirty.update(ld.open)
                await self.commit()
                return True
            await self.commit()

    async def next_item(self) -> Any:
        """The next input; what it sets off runs at the drill's speed (a person's pace ends
        as their command arrives)."""
        item = await self._next_item()
        self.clock.pace(False)
        return item

    async def _next_item(self) -> Any:
        """The next report, command or due timer. Staged events are committed before any
        wait, so nothing sits unjournaled while the engine idles; a drill at --speed max
        moves from timer to timer and commits in groups."""
        timers = self.timers
        while True:
            if len(self.unshown) >= MAX_STAGED:
                await self.commit()
            if not self.queue.empty():
                return self.queue.get_nowait()
            if self.acts:
                await self.commit()
                continue
            if self.options.stop_when_waiting and self._only_people_can_act():
                return None
            while timers and self.ledger.stale(timers.peek()[1]):
                timers.pop()
            self.clock.pace(self._people_pace())
            if not timers:
                await self.commit()
                return await self.queue.get()
            due = timers.peek()[0]
            delay = self.clock.real_delay(due)
            if delay is None and self.runner.busy():
                delay = 0.0  # real work in flight (an undo command): let it report first
            if delay is not None and delay > 0:
                await self.commit()
                try:
                    return await asyncio.wait_for(self.queue.get(), delay)
                except asyncio.TimeoutError:
                    pass
            elif delay == 0.0:
                await self.commit()
                await asyncio.sleep(0)
                if not self.queue.empty():
                    continue
            _, timer = timers.pop()
            self.clock.advance_to(due)
            return timer

    def _people_pace(self) -> bool:
        """A drill someone can answer live (not headless) waits only on people: no machine
        work in flight or due. Its clock then runs at 1x (see VirtualClock)."""
        if self.options.stop_when_waiting or not decide.waiting_for_people(self.ledger) or self.runner.busy():
            return False
        return not any(not self.ledger.stale(t) and t.kind.machine for _, t in self.timers.items())

    def _only_people_can_act(self) -> bool:
        if not decide.waiting_for_people(self.ledger) or self.runner.busy():
            return False
        now = self.clock.now()
        return not any(
            not self.ledger.stale(t) and (t.kind.engine_acts or (t.kind is TimerKind.APPROVAL and (self.clock.virtual or due <= now)))
            for due, t in self.timers.items()
        )

    # the outside -----------------------------------------------------------------------------
    def submit_nowait(self, command: OperatorCommand) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.ended:
            future.set_exception(self.ended_refusal())
        else:
            self.queue.put_nowait(Command(command, future))
        return future

    async def submit(self, command: OperatorCommand) -> None:
        """Runs an operator command in the loop; raises Refused with the reason."""
        await self.submit_nowait(command)

    async def inject(self, inject: Inject, actor: str) -> None:
        """A facilitator's inject from the console, journaled as drill.inject with their name."""
        if not self.options.drill:
            raise Refused("injects are for drills: this run is real")
        if self.ended:
            raise self.ended_refusal()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait(Facilitate(inject, actor, future))
        await future

    def request_interrupt(self, signal_name: str) -> None:
        self.queue.put_nowait(Interrupt(signal_name))

    def kill_children(self) -> None:
        self.runner.kill_all()

    async def _interrupt(self, signal_name: str) -> None:
        """Stops every child (their steps stay in doubt: we cannot know what they did) and
        journals the interruption so `warroom resume` can carry on."""
        self.runner.kill_all()
        await self.runner.drain(timeout=5)
        self.ledger.emit(self.ledger.event(EventType.RUN_INTERRUPTED, actor=self.options.actor, signal=signal_name))
