"""The scheduler: one loop that decides, journals, then acts.

Every decision is journaled before it takes effect (a step's start is committed before its
process is spawned; its result before any dependent starts) and folded into the same Reducer
that resume, replay and report use, so the engine's view of the incident is the journal's.
Actions (processes, drill timers, people) report back through one queue; the loop is the only
place state changes, which keeps a drill with the same seed exactly repeatable.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from warroom.engine.capture import capture_outputs
from warroom.engine.clock import Clock
from warroom.engine.commands import Action, OperatorCommand, Refused, check, events_for
from warroom.engine.context import evaluate, render_text, resolver
from warroom.engine.drill import DrillOutcome, Inject, InjectKind, outcome
from warroom.engine.items import Command, Done, Facilitate, Interrupt, Timer, UndoDone
from warroom.engine.process import CommandNotStarted, ProcessResult, StepProcess
from warroom.journal.events import AUTO, DRILL, ENGINE, Event, EventType, NewEvent
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState, RunResult, StepState, StepStatus
from warroom.journal.store import JournalReader, JournalWriter
from warroom.runbook.model import FailurePolicy, Phase, Runbook, Step, StepKind
from warroom.runbook.templates import CommandRenderError, RenderedCommand, render_command

MAX_UNTIL_POLLS = 720
"""A check polling `until` without a timeout gives up after this many polls."""

_BAD_NEED = {StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.BLOCKED, StepStatus.UNDONE,
             StepStatus.UNDO_FAILED}
_NOT_OK = {StepStatus.FAILED, StepStatus.BLOCKED, StepStatus.CANCELLED, StepStatus.UNDO_FAILED}
_PERSON_KINDS = (StepKind.MANUAL, StepKind.ESCALATE, StepKind.APPROVAL)
_UNCOUNTED = frozenset({*_PERSON_KINDS, StepKind.DECIDE})
"""Kinds that do not take one of max_parallel's slots: people's steps and decisions."""
_REOPENING = frozenset({Action.RETRY, Action.SKIP, Action.DONE, Action.UNDO})
"""Commands that give a failed run's console more to do."""
MAX_STAGED = 2048
"""Staged events are committed at the latest when this many are waiting."""
_ENGINE_TIMERS = {"done", "wait", "retry", "poll", "inject", "release", "auto"}
"""Timers after which the engine acts on its own, so a headless run must not stop before them.
An approval's timeout joins them in virtual time (a drill plays it out) and, in a real run,
once it is due (a resume after it passed); otherwise a real run stops for a person rather than
idle with the journal locked until nobody answered."""


class Outcome(str, Enum):
    FINISHED = "finished"  # run.finished journaled; see state.result
    WAITING = "waiting"  # stopped: only a person can move it on (headless without --auto)
    INTERRUPTED = "interrupted"  # a signal; run.interrupted journaled, resumable


@dataclass(frozen=True)
class RunOptions:
    actor: str
    drill: bool = False
    seed: int = 0
    speed: float | None = 1.0  # drills; None is max
    auto: bool = False
    stop_when_waiting: bool = False  # headless without --auto: stop when only people can act
    linger: bool = False  # the console: after the end, stay for commands that may reopen it
    injects: tuple[Inject, ...] = ()
    source: str = ""


class Engine:
    def __init__(self, writer: JournalWriter, runbook: Runbook, options: RunOptions, clock: Clock) -> None:
        self.writer = writer
        self.runbook = runbook
        self.options = options
        self.clock = clock
        self.reducer = Reducer()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.timers: list[tuple[float, int, Timer]] = []
        self._timer_seq = itertools.count()
        self.tokens: dict[str, int] = {}  # a step's current attempt token; stale reports are ignored
        self.procs: dict[str, StepProcess] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.dirty: set[str] = set()
        self.ending: dict[str, str] = {}  # step -> "timeout" | "cancel" while its process is stopped
        self.polls: dict[str, int] = {}
        self.fail_next: set[str] = set()
        self.slow_next: dict[str, float] = {}
        self.undo_queue: list[str] = []
        self.undoing: str | None = None
        self.rollback: str | None = None  # why a rollback runs, while it runs
        self.ended = False  # run() has returned: commands are refused instead of never answered
        self.unnotified: list[Event | tuple[str | None, str, str, float]] = []  # staged, folded, not yet shown
        self.output_mono = 0.0  # the run-clock time of the output line being shown
        self.after_commit: list[Callable[[], Any]] = []  # side effects that wait for the commit
        self.open: set[str] = set()  # steps not finished; derived from state as events fold
        self.running: set[str] = set()  # running steps that count against max_parallel
        self.resource_waiters: set[str] = set()  # waiting on a lock or a claim
        self.slot_waiting: set[str] = set()  # waiting for one of max_parallel's slots
        self.slot_queue: list[tuple[int, str]] = []  # the same, in file order (lazy heap)
        self.people_waits: set[str] = set()  # in doubt, or waiting on a person or a claim
        self.listeners: list[Callable[[Event], None]] = []
        self.output_listeners: list[Callable[[str | None, str, str], None]] = []
        self.order = {sid: i for i, sid in enumerate(runbook.step_ids)}
        self.dependents: dict[str, list[str]] = {sid: [] for sid in runbook.step_ids}
        for sid in runbook.step_ids:
            for need in runbook.needs_of(sid):
                self.dependents[need].append(sid)
        writer.output_listener = self._on_output_row

    @property
    def state(self) -> IncidentState:
        return self.reducer.state

    # journaling ----------------------------------------------------------------------------
    def event(self, type_: EventType, step: str | None = None, actor: str = ENGINE, **data: Any) -> NewEvent:
        return NewEvent(type_, actor, self.clock.wall(), self.clock.now(), step, data)

    async def emit(self, *events: NewEvent) -> None:
        """Stages events and folds them at once, so the next decision sees them; they become
        durable (and visible to listeners) at the next `commit`, before any action they imply."""
        stored = self.writer.stage(list(events))
        for ev in stored:
            self.reducer.apply(ev)
            if ev.step is not None:
                self.track(ev.step)
        self.unnotified.extend(stored)
        if len(self.unnotified) >= MAX_STAGED:
            await self.commit()

    async def commit(self) -> None:
        """Makes staged events durable, shows them, then runs what waited for them."""
        if self.unnotified or self.after_commit:
            await self.writer.flush()
        events, self.unnotified = self.unnotified, []
        for ev in events:
            if isinstance(ev, tuple):
                self.show_output(*ev)
            else:
                for listener in self.listeners:
                    listener(ev)
        actions, self.after_commit = self.after_commit, []
        for action in actions:
            action()

    def track(self, sid: str) -> None:
        """Keeps the derived step sets current, so no decision has to scan every step."""
        s = self.state.steps.get(sid)
        if s is None:
            return
        status = s.status
        (self.open.discard if status.finished else self.open.add)(sid)
        counts = status is StepStatus.RUNNING and sid in self.order and self.runbook.step(sid).kind not in _UNCOUNTED
        (self.running.add if counts else self.running.discard)(sid)
        on = s.waiting_on.on if status is StepStatus.WAITING and s.waiting_on is not None else None
        (self.resource_waiters.add if on in ("lock", "claim") else self.resource_waiters.discard)(sid)
        if on == "slot":
            self.queue_for_slot(sid)
        else:
            self.slot_waiting.discard(sid)
        waits_on_people = status is StepStatus.IN_DOUBT or on in ("person", "claim")
        (self.people_waits.add if waits_on_people else self.people_waits.discard)(sid)

    def _on_output_row(self, row: tuple[Any, ...], stream: str, line: str) -> None:
        """Output is shown as it comes, except behind staged events, to keep journal order."""
        self.reducer.apply_rows([row])
        if self.unnotified:
            self.unnotified.append((row[6], stream, line, row[3]))
            return
        self.show_output(row[6], stream, line, row[3])

    def show_output(self, step: str | None, stream: str, line: str, mono: float) -> None:
        self.output_mono = mono
        for listener in self.output_listeners:
            listener(step, stream, line)

    # starting and resuming -------------------------------------------------------------------
    async def start(self, secret_values: list[str]) -> str:
        o = self.options
        data = {
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
        self.reducer.apply(first)
        for listener in self.listeners:
            listener(first)
        for sid in self.runbook.step_ids:
            self.track(sid)
        self.dirty.update(self.runbook.step_ids)
        return incident

    async def resume(self, incident: str, rows_reader: JournalReader, runbook_note: dict[str, Any]) -> None:
        """Folds the journal, then settles what a crash left open: running steps become in
        doubt (re-run when safe), held locks are released, unanswered undos are reported."""
        await self.writer.resume_incident(incident)
        self.reducer.apply_rows(rows_reader.rows(incident))
        state = self.state
        for sid in state.steps:
            self.track(sid)
        await self.emit(self.event(EventType.RUN_RESUMED, actor=self.options.actor, **runbook_note))
        for name, holders in list(state.locks.items()):
            for holder in list(holders):
                await self.emit(self.event(EventType.LOCK_RELEASED, holder, locks=[name], reason="resume"))
        for sid, s in state.steps.items():
            step = self.runbook.step(sid)
            if s.undoing:
                await self.emit(self.event(EventType.UNDO_FAILED, sid, reason="interrupted during undo: in doubt"))
            elif s.status in (StepStatus.RUNNING, StepStatus.IN_DOUBT):
                doubt = [self.event(EventType.STEP_IN_DOUBT, sid, attempt=s.attempts)] if s.status is StepStatus.RUNNING else []
                if step.rerunnable or step.kind in (StepKind.WAIT, StepKind.DECIDE):
                    why = "check" if step.kind is StepKind.CHECK else "idempotent" if step.idempotent else step.kind.value
                    doubt.append(self.event(EventType.OPERATOR_OVERRIDE, sid, action="rerun", reason=f"{why}: safe to re-run after resume"))
                if doubt:
                    await self.emit(*doubt)  # one commit: a crash here cannot strand a safe step
            elif s.status is StepStatus.WAITING and s.waiting_on is not None:
                if s.waiting_on.on == "retry":
                    self.add_timer(0, Timer("retry", sid, self.next_token(sid)))
                elif s.waiting_on.on == "person":
                    await self.take_locks(step)
                    waited = self.clock.now() - s.open_wait[1] if s.open_wait is not None else 0.0
                    self.arm_person_step(step, waited=max(0.0, waited))
        self.dirty.update(sid for sid, s in state.steps.items() if not s.status.finished)
        cut_short = self.unfinished_rollback()
        if cut_short is not None:
            await self.start_rollback(*cut_short)

    def unfinished_rollback(self) -> tuple[str, tuple[str, ...]] | None:
        """The rollback a crash cut short, derived from the journal: a step failed for good
        in a fail-fast scope and the run has not finished. Starting it again cancels what is
        still open and undoes what has not been undone; undos already journaled stand."""
        failed = [s for s in self.state.steps.values() if s.status is StepStatus.FAILED]
        for s in sorted(failed, key=lambda s: (s.ended_at or 0.0, self.order.get(s.id, 0))):
            if s.id not in self.order:
                continue
            scope, policy, _ = self.policy_of(self.runbook.step(s.id))
            if policy is FailurePolicy.FAIL_FAST:
                return f"fail-fast: {s.id} failed", scope
        return None

    # the loop --------------------------------------------------------------------------------
    async def run(self) -> Outcome:
        try:
            return await self.loop()
        finally:
            await self.commit()
            self.ended = True
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if isinstance(item, (Command, Facilitate)) and not item.future.done():
                    item.future.set_exception(self.ended_refusal())

    def ended_refusal(self) -> Refused:
        return Refused(f"this run has stopped ({self.state.result.value}); act from a shell, then resume it")

    async def loop(self) -> Outcome:
        state = self.state
        if state.started_mono is not None and self.runbook.deadline_s and not state.deadline_passed:
            self.add_timer_at(state.started_mono + self.runbook.deadline_s, Timer("deadline"))
        if self.options.drill:
            started = state.started_mono or 0.0
            fired = sum(1 for inject in state.injects if inject["actor"] == DRILL)  # a facilitator's are extra
            for inject in self.options.injects[fired:]:
                self.add_timer_at(started + inject.at_s, Timer("inject", payload=inject))
        while True:
            await self.schedule()
            if await self.finish_if_done():
                if not self.options.linger or not await self.linger():
                    return Outcome.FINISHED
                continue
            item = await self.next_item()
            if item is None:
                await self.emit(self.event(EventType.RUN_FINISHED, result=RunResult.WAITING.value))
                return Outcome.WAITING
            if isinstance(item, Interrupt):
                await self.interrupt(item.signal)
                return Outcome.INTERRUPTED
            await self.handle(item)

    async def linger(self) -> bool:
        """After the end, in a console: notes and claims are journaled as usual, and a retry,
        skip, done or undo of a failed run reopens it (run.resumed); True when it reopened,
        False when the console leaves."""
        await self.commit()
        while True:
            item = await self.queue.get()
            if isinstance(item, Interrupt):
                return False
            if isinstance(item, Facilitate):
                item.future.set_exception(Refused("the drill has ended"))
                continue
            if not isinstance(item, Command):
                continue  # a late report of an action that ended with the run
            await self.handle_command(item)
            refused = item.future.done() and item.future.exception() is not None
            command = item.command
            if not refused and command.action in _REOPENING and self.rollback is None:
                await self.emit(self.event(EventType.RUN_RESUMED, actor=command.actor, runbook_changed=False,
                                           diff=f"reopened by {command.action.value} {command.target}"))
                self.dirty.update(self.open)
                await self.commit()
                return True
            await self.commit()

    async def next_item(self) -> Any:
        """The next report, command or due timer. Staged events are committed before any
        wait, so nothing sits unjournaled while the engine idles; a drill at --speed max
        moves from timer to timer and commits in groups."""
        while True:
            if not self.queue.empty():
                return self.queue.get_nowait()
            if self.after_commit:
                await self.commit()
                continue
            if self.options.stop_when_waiting and self.only_people_can_act():
                return None
            while self.timers and self.stale(self.timers[0][2]):
                heapq.heappop(self.timers)
            if not self.timers:
                await self.commit()
                return await self.queue.get()
            due = self.timers[0][0]
            delay = self.clock.real_delay(due)
            if delay is None and self.busy():
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
            _, _, timer = heapq.heappop(self.timers)
            self.clock.advance_to(due)
            return timer

    def only_people_can_act(self) -> bool:
        if not self.people_waits or self.busy() or self.undoing or self.undo_queue:
            return False
        now = self.clock.now()
        return not any(
            not self.stale(t) and (t.kind in _ENGINE_TIMERS or (t.kind == "approval" and (self.clock.virtual or due <= now)))
            for due, _, t in self.timers
        )

    def add_timer(self, delay: float, timer: Timer) -> None:
        self.add_timer_at(self.clock.now() + delay, timer)

    def add_timer_at(self, due: float, timer: Timer) -> None:
        heapq.heappush(self.timers, (due, next(self._timer_seq), timer))

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
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.ended:
            raise self.ended_refusal()
        self.queue.put_nowait(Facilitate(inject, actor, future))
        await future

    def request_interrupt(self, signal_name: str) -> None:
        self.queue.put_nowait(Interrupt(signal_name))

    # scheduling ------------------------------------------------------------------------------
    def active_phase(self) -> tuple[Phase | None, bool]:
        """The phase whose steps may start, and whether it ended without meeting its policy."""
        for phase in self.runbook.phases:
            done, ok = self.scope_result(phase.step_ids, phase.on_failure, phase.quorum)
            if not done or not ok:
                return phase, done and not ok
        return None, False

    def scope_result(self, ids: tuple[str, ...], policy: FailurePolicy, quorum: Any) -> tuple[bool, bool]:
        steps = self.state.steps
        done = all(steps[sid].status.finished for sid in ids)
        if policy is FailurePolicy.QUORUM and quorum is not None:
            wins = sum(1 for sid in ids if steps[sid].status is StepStatus.SUCCEEDED)
            return done, wins >= quorum.required(len(ids))
        return done, not any(steps[sid].status in _NOT_OK for sid in ids)

    async def schedule(self) -> None:
        """Decides every step marked dirty, until deciding marks no more."""
        while True:
            if self.rollback is not None or self.state.result is not RunResult.RUNNING:
                self.dirty.clear()
                return
            phase, phase_failed = self.active_phase()
            await self.phase_events(phase)
            self.wake_slot_waiters()
            if not self.dirty:
                return
            await self.schedule_pass(phase, phase_failed)

    async def schedule_pass(self, phase: Phase | None, phase_failed: bool) -> None:
        candidates = sorted(self.dirty, key=self.order.__getitem__)
        self.dirty.clear()
        running = len(self.running)
        for sid in candidates:
            s = self.state.steps[sid]
            if s.status not in (StepStatus.PENDING, StepStatus.WAITING, StepStatus.BLOCKED):
                continue
            if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on in ("person", "retry"):
                continue
            step = self.runbook.step(sid)
            if phase is not None and step.phase is not None and step.phase != phase.id:
                if phase_failed and s.status is not StepStatus.BLOCKED and self.phase_index(step.phase) > self.phase_index(phase.id):
                    await self.emit(self.event(EventType.STEP_BLOCKED, sid, by=phase.id))
                continue
            if await self.settle_by_needs(step, s):
                continue
            if step.when is not None:
                verdict = evaluate(self.state, self.runbook, step.id, step.when)
                if isinstance(verdict, str):
                    await self.fail_step(step, verdict)
                    continue
                if not verdict:
                    await self.emit(self.event(EventType.STEP_SKIPPED, sid, reason=f"when: {step.when} is false"))
                    self.mark_dependents(sid)
                    continue
            if await self.wait_for_resources(step, s):
                continue
            counts = step.kind not in _UNCOUNTED
            if counts and self.runbook.max_parallel is not None and running >= self.runbook.max_parallel:
                await self.set_waiting(s, "slot", f"max_parallel {self.runbook.max_parallel}")
                self.queue_for_slot(sid)
                continue
            running += counts
            await self.start_step(step)

    def phase_index(self, phase_id: str) -> int:
        return next(i for i, p in enumerate(self.runbook.phases) if p.id == phase_id)

    async def phase_events(self, current: Phase | None) -> None:
        phases = self.state.phases
        for phase in self.runbook.phases:
            done, ok = self.scope_result(phase.step_ids, phase.on_failure, phase.quorum)
            if phases.get(phase.id) == "running" and done:
                await self.emit(self.event(EventType.PHASE_FINISHED, phase=phase.id, result="succeeded" if ok else "failed"))
                self.dirty.update(sid for p in self.runbook.phases for sid in p.step_ids)
            if phase is current:
                if phases.get(phase.id) != "running" and not done:
                    await self.emit(self.event(EventType.PHASE_STARTED, phase=phase.id))
                    self.dirty.update(phase.step_ids)
                break

    async def settle_by_needs(self, step: Step, s: StepState) -> bool:
        """Blocks, skips or holds a step by its needs; True when it cannot start now."""
        needs = self.runbook.needs_of(step.id)
        states = [self.state.steps[n] for n in needs]
        bad = next((n for n, ns in zip(needs, states) if ns.status in _BAD_NEED), None)
        if bad is not None:
            if s.status is not StepStatus.BLOCKED:
                await self.emit(self.event(EventType.STEP_BLOCKED, step.id, by=bad))
            return True
        if any(not ns.status.finished for ns in states):
            return True
        if needs and all(ns.status is StepStatus.SKIPPED for ns in states):
            await self.emit(self.event(EventType.STEP_SKIPPED, step.id, reason="all its needs were skipped"))
            self.mark_dependents(step.id)
            return True
        if s.status is StepStatus.BLOCKED:
            await self.set_waiting(s, "needs", "a failed need was resolved")
        return False

    async def wait_for_resources(self, step: Step, s: StepState) -> bool:
        for lock in step.locks:
            claim = self.state.claims.get(lock.name)
            if claim is not None:
                await self.set_waiting(s, "claim", f"{lock.name} claimed: {claim.reason}", (claim.by,))
                return True
        for lock in step.locks:
            holders = [h for h in self.state.locks.get(lock.name, []) if h != step.id]
            conflicting = [h for h in holders if not (lock.shared and self.holds_shared(h, lock.name))]
            if conflicting:
                await self.set_waiting(s, "lock", lock.name, tuple(conflicting))
                return True
        return False

    def holds_shared(self, holder: str, name: str) -> bool:
        if holder not in self.order:
            return False
        return any(lk.name == name and lk.shared for lk in self.runbook.step(holder).locks)

    async def set_waiting(self, s: StepState, on: str, detail: str, holders: tuple[str, ...] = ()) -> None:
        current = s.waiting_on
        if s.status is StepStatus.WAITING and current is not None and (current.on, current.detail, current.holders) == (on, detail, holders):
            return
        await self.emit(self.event(EventType.STEP_WAITING, s.id, on=on, detail=detail, holders=list(holders)))

    async def take_locks(self, step: Step) -> None:
        if step.locks:
            await self.emit(self.event(EventType.LOCK_ACQUIRED, step.id, locks=[str(lk) for lk in step.locks]))

    async def release_locks(self, step: Step) -> None:
        if step.locks and any(step.id in self.state.locks.get(lk.name, []) for lk in step.locks):
            await self.emit(self.event(EventType.LOCK_RELEASED, step.id, locks=[str(lk) for lk in step.locks]))
            self.mark_resource_waiters()

    def mark_dependents(self, sid: str) -> None:
        self.dirty.update(self.dependents[sid])

    def mark_resource_waiters(self) -> None:
        self.dirty.update(self.resource_waiters)

    def queue_for_slot(self, sid: str) -> None:
        if sid not in self.slot_waiting:
            self.slot_waiting.add(sid)
            heapq.heappush(self.slot_queue, (self.order[sid], sid))

    def wake_slot_waiters(self) -> None:
        """Marks as many slot waiters as there are free slots, first in file order: waking
        them all on every completion would make a large fan-out quadratic."""
        limit = self.runbook.max_parallel
        free = (limit - len(self.running)) if limit is not None else 0
        while free > 0 and self.slot_queue:
            _, sid = heapq.heappop(self.slot_queue)
            if sid in self.slot_waiting and sid not in self.dirty:
                self.slot_waiting.discard(sid)
                self.dirty.add(sid)
                free -= 1

    # starting steps ---------------------------------------------------------------------------
    def next_token(self, sid: str) -> int:
        self.tokens[sid] = self.tokens.get(sid, 0) + 1
        return self.tokens[sid]

    async def start_step(self, step: Step) -> None:
        sid = step.id
        kind = step.kind
        if kind is StepKind.DECIDE:
            await self.decide(step)
            return
        await self.take_locks(step)
        if kind in (StepKind.RUN, StepKind.CHECK, StepKind.WAIT):
            await self.start_attempt(step)
            return
        if kind is StepKind.APPROVAL:
            approvers = list(step.approvers) or [p for p, r in self.runbook.roles.items() if r == "commander"]
            await self.emit(self.event(
                EventType.APPROVAL_REQUESTED, sid, question=render_text(self.state, self.runbook, step.question or ""),
                approvers=approvers, four_eyes=step.four_eyes,
            ))
        elif kind is StepKind.ESCALATE:
            await self.emit(self.event(EventType.ESCALATION_RAISED, sid, to=step.escalate_to or "", reason=step.title or sid))
            if step.notify is not None and not self.options.drill:
                self.spawn_notify(step)
            await self.set_waiting(self.state.steps[sid], "person", f"escalated to {step.escalate_to}")
        else:
            detail = render_text(self.state, self.runbook, step.instructions or "")
            owner = self.runbook.thread(step.thread)
            await self.set_waiting(self.state.steps[sid], "person", detail, (owner.owner,) if owner and owner.owner else ())
        self.arm_person_step(step)

    def arm_person_step(self, step: Step, *, waited: float = 0.0) -> None:
        """Timers of a step waiting on a person: its approval timeout (less what it has
        already waited, when resumed), or --auto's answer."""
        token = self.next_token(step.id)
        if self.options.auto:
            delay = outcome(step, 1, self.options.seed).duration_s if self.options.drill else 0.0
            self.add_timer(delay, Timer("auto", step.id, token))
        if step.kind is StepKind.APPROVAL and step.timeout_s is not None:
            self.add_timer(max(0.0, step.timeout_s - waited), Timer("approval", step.id, token))

    async def start_attempt(self, step: Step, *, attempt: int | None = None) -> None:
        sid = step.id
        s = self.state.steps[sid]
        attempt = attempt or s.attempts + 1
        token = self.next_token(sid)
        self.polls[sid] = 0
        if step.kind is StepKind.WAIT:
            await self.emit(self.event(EventType.STEP_STARTED, sid, attempt=attempt))
            self.add_timer(step.wait_s or 0.0, Timer("wait", sid, token))
            return
        assert step.command is not None
        command = step.command
        try:
            rendered = render_command(command, resolver(self.state, self.runbook))
        except CommandRenderError as exc:
            await self.emit(self.event(EventType.STEP_STARTED, sid, attempt=attempt, command=command if isinstance(command, str) else list(command)))
            self.queue.put_nowait(Done(sid, token, False, None, reason=f"cannot run the command: {exc}"))
            return
        await self.emit(self.event(EventType.STEP_STARTED, sid, attempt=attempt, command=rendered.shown))
        if step.timeout_s is not None:
            self.add_timer(step.timeout_s, Timer("timeout", sid, token))
        self.launch(step, token, attempt, rendered)

    def launch(self, step: Step, token: int, attempt: int, command: RenderedCommand) -> None:
        if self.options.drill:
            result = outcome(step, attempt, self.options.seed, force_fail=step.id in self.fail_next,
                             slow_by=self.slow_next.pop(step.id, 0.0))
            self.fail_next.discard(step.id)
            if result.stdout:
                self.writer.append_output(step.id, "stdout", result.stdout, ts=self.clock.wall(), mono=self.clock.now())
            self.add_timer(result.duration_s, Timer("done", step.id, token, result))
            return
        self.act(lambda: self.start_process(step, token, command))

    def spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def busy(self) -> bool:
        """Real work in flight (a finished task may wait a loop turn to leave the set)."""
        return any(not task.done() for task in self.tasks)

    def act(self, action: Callable[[], None]) -> None:
        """Does real work (spawns a process) once the events that decided it are durable."""
        self.after_commit.append(action)

    def open_process(self, sid: str, command: RenderedCommand) -> StepProcess:
        """Spawns a step's command, its undo or its page, its output streaming into the
        journal; known by step id while it runs, so a timeout, a cancel or an interrupt can
        end it. CommandNotStarted when it cannot be spawned."""

        def on_output(stream: str, chunk: str) -> None:
            self.writer.append_output_chunk(sid, stream, chunk, ts=self.clock.wall(), mono=self.clock.now())

        proc = StepProcess(command.argv, on_output, env=command.env)
        proc.start()
        self.procs[sid] = proc
        return proc

    async def settle_process(self, sid: str, proc: StepProcess) -> ProcessResult:
        try:
            return await proc.wait()
        finally:
            self.procs.pop(sid, None)
            for stream in ("stdout", "stderr"):
                self.writer.end_output(sid, stream, ts=self.clock.wall(), mono=self.clock.now())

    def start_process(self, step: Step, token: int, command: RenderedCommand) -> None:
        try:
            proc = self.open_process(step.id, command)
        except CommandNotStarted as exc:
            self.queue.put_nowait(Done(step.id, token, False, 127, reason=str(exc)))
            return
        self.spawn(self.report_process(step, token, proc))

    async def report_process(self, step: Step, token: int, proc: StepProcess) -> None:
        sid = step.id
        result = await self.settle_process(sid, proc)
        outputs = capture_outputs(step.outputs, result.stdout)
        ended = self.ending.pop(sid, None)
        reason = {"timeout": "timeout", "cancel": "cancelled"}.get(ended or "", f"exit code {result.exit_code}")
        self.queue.put_nowait(Done(sid, token, result.exit_code == 0 and ended is None, result.exit_code, outputs, reason))

    def spawn_notify(self, step: Step) -> None:
        assert step.notify is not None

        def page() -> None:
            try:
                proc = self.open_process(step.id, render_command(step.notify, resolver(self.state, self.runbook)))
            except (CommandNotStarted, CommandRenderError) as exc:
                self.writer.append_output(step.id, "stderr", f"notify: {exc}", ts=self.clock.wall(), mono=self.clock.now())
                return
            self.spawn(self.settle_process(step.id, proc))

        self.act(page)

    async def decide(self, step: Step) -> None:
        chosen = None
        for index, branch in enumerate(step.branches):
            if branch.when is None:
                chosen = index
                break
            verdict = evaluate(self.state, self.runbook, step.id, branch.when)
            if isinstance(verdict, str):
                await self.fail_step(step, verdict)
                return
            if verdict:
                chosen = index
                break
        assert chosen is not None  # the loader insists on an else branch
        branch = step.branches[chosen]
        skipped = [t for i, b in enumerate(step.branches) if i != chosen for t in b.then]
        await self.emit(
            self.event(EventType.STEP_STARTED, step.id, attempt=1),
            self.event(EventType.DECISION_TAKEN, step.id, branch=chosen, when=branch.when, then=list(branch.then), skipped=skipped),
            self.event(EventType.STEP_SUCCEEDED, step.id, attempt=1, outputs={}, exit_code=None),
            *(self.event(EventType.STEP_SKIPPED, t, reason=f"branch not taken at {step.id}") for t in skipped),
        )
        self.mark_dependents(step.id)
        for t in skipped:
            self.mark_dependents(t)

    # handling reports ---------------------------------------------------------------------------
    async def handle(self, item: Any) -> None:
        if isinstance(item, Command):
            await self.handle_command(item)
        elif isinstance(item, Done):
            await self.handle_done(item)
        elif isinstance(item, UndoDone):
            await self.handle_undo_done(item)
        elif isinstance(item, Timer):
            await self.handle_timer(item)
        elif isinstance(item, Facilitate):
            await self.apply_inject(item.inject, item.actor)
            self.answer(item.future)

    def answer(self, future: asyncio.Future[None]) -> None:
        """A command or inject is answered once what it journaled is durable."""
        self.after_commit.append(lambda: None if future.done() else future.set_result(None))

    def current(self, sid: str | None, token: int) -> bool:
        return sid is not None and self.tokens.get(sid) == token

    def stale(self, timer: Timer) -> bool:
        """A timer of an attempt or a wait that has since ended: it must neither fire nor
        move virtual time."""
        return timer.step is not None and timer.kind != "undo" and not self.current(timer.step, timer.token)

    async def handle_timer(self, timer: Timer) -> None:
        kind, sid = timer.kind, timer.step
        if kind == "deadline":
            deadline = self.runbook.deadline_s
            await self.emit(
                self.event(EventType.RUN_DEADLINE_PASSED, deadline_s=deadline),
                self.event(EventType.ESCALATION_RAISED, to=self.commander(), reason="the run's deadline has passed"),
            )
        elif kind == "inject":
            await self.apply_inject(timer.payload)
        elif kind == "undo":
            await self.handle_undo_done(UndoDone(sid or "", True))
        elif kind == "release":
            if timer.payload in self.state.claims:
                await self.emit(self.event(EventType.CLAIM_RELEASED, actor=DRILL, resource=timer.payload, reason="inject's claim ended"))
                self.mark_resource_waiters()
        elif not self.current(sid, timer.token):
            return
        elif kind == "done":
            result: DrillOutcome = timer.payload
            await self.handle_done(Done(sid, timer.token, result.succeeded, 0 if result.succeeded else 1, result.outputs,
                                         "" if result.succeeded else "drill: the step failed"))
        elif kind == "wait":
            await self.handle_done(Done(sid, timer.token, True))
        elif kind == "retry":
            s = self.state.steps[sid]
            if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on == "retry":
                await self.start_attempt(self.runbook.step(sid))
        elif kind == "poll":
            step = self.runbook.step(sid)
            if self.state.steps[sid].status is StepStatus.RUNNING:
                try:
                    rendered = render_command(step.command, resolver(self.state, self.runbook))
                except CommandRenderError as exc:
                    self.queue.put_nowait(Done(sid, timer.token, False, None, reason=f"cannot run the command: {exc}"))
                    return
                self.launch(step, timer.token, self.state.steps[sid].attempts, rendered)
        elif kind == "timeout":
            await self.end_attempt(sid, "timeout")
        elif kind == "approval":
            await self.approval_timed_out(self.runbook.step(sid))
        elif kind == "auto":
            await self.auto_answer(self.runbook.step(sid))

    async def end_attempt(self, sid: str, why: str) -> None:
        """Stops a running attempt (timeout or cancel); its report then says so."""
        if self.state.steps[sid].status is not StepStatus.RUNNING:
            return
        proc = self.procs.get(sid)
        if proc is not None:
            self.ending[sid] = why
            self.spawn(proc.stop())
            return
        token = self.tokens.get(sid, 0)
        await self.handle_done(Done(sid, token, False, None, reason="timeout" if why == "timeout" else "cancelled"))

    async def handle_done(self, done: Done) -> None:
        sid = done.step
        if not self.current(sid, done.token) or self.state.steps[sid].status is not StepStatus.RUNNING:
            return
        step = self.runbook.step(sid)
        s = self.state.steps[sid]
        attempt = s.attempts
        if step.kind is StepKind.CHECK and step.until is not None and done.reason not in ("timeout", "cancelled"):
            own = {"outputs": done.outputs, "exit_code": done.exit_code, "status": "running"}
            verdict = evaluate(self.state, self.runbook, step.id, step.until, own)
            if verdict is True:
                done = Done(sid, done.token, True, done.exit_code, done.outputs)
            elif isinstance(verdict, str):
                done = Done(sid, done.token, False, done.exit_code, done.outputs, verdict)
            else:
                self.polls[sid] = self.polls.get(sid, 0) + 1
                if step.timeout_s is not None or self.polls[sid] < MAX_UNTIL_POLLS:
                    self.add_timer(step.interval_s, Timer("poll", sid, done.token))
                    return
                done = Done(sid, done.token, False, done.exit_code, done.outputs, f"until never held after {self.polls[sid]} polls")
        self.next_token(sid)
        await self.release_locks(step)
        if done.ok:
            await self.emit(self.event(EventType.STEP_SUCCEEDED, sid, attempt=attempt, exit_code=done.exit_code,
                                       duration_s=self.clock.now() - (s.started_at if s.started_at is not None else self.clock.now()), outputs=done.outputs))
            self.mark_dependents(sid)
            self.mark_resource_waiters()
            return
        if done.reason == "cancelled":
            await self.emit(self.event(EventType.STEP_CANCELLED, sid, reason=self.rollback or "cancelled"))
            self.mark_dependents(sid)
            return
        if done.reason == "timeout":
            await self.emit(self.event(EventType.STEP_TIMED_OUT, sid, attempt=attempt, timeout_s=step.timeout_s))
        else:
            await self.emit(self.event(EventType.STEP_FAILED, sid, attempt=attempt, exit_code=done.exit_code, reason=done.reason))
        self.mark_resource_waiters()
        if attempt <= step.retries.count:
            delay = step.retries.delay_before(attempt + 1)
            await self.emit(self.event(EventType.STEP_RETRY_SCHEDULED, sid, attempt=attempt + 1, delay_s=delay))
            self.add_timer(delay, Timer("retry", sid, self.tokens[sid]))
            return
        await self.on_failure(step)

    async def fail_step(self, step: Step, reason: str) -> None:
        await self.emit(self.event(EventType.STEP_FAILED, step.id, attempt=self.state.steps[step.id].attempts, reason=reason))
        await self.on_failure(step)

    def policy_of(self, step: Step) -> tuple[tuple[str, ...], FailurePolicy, Any]:
        phase = self.runbook.phase_of(step.id)
        if phase is not None:
            return phase.step_ids, phase.on_failure, phase.quorum
        return self.runbook.step_ids, self.runbook.on_failure, self.runbook.quorum

    async def on_failure(self, step: Step) -> None:
        """A step failed for good: the scope's policy decides what happens to the rest."""
        self.mark_dependents(step.id)
        ids, policy, quorum = self.policy_of(step)
        if policy is FailurePolicy.FAIL_FAST:
            await self.start_rollback(f"fail-fast: {step.id} failed", ids)
        elif policy is FailurePolicy.QUORUM and quorum is not None:
            possible = sum(1 for sid in ids if self.may_succeed(sid))
            if possible < quorum.required(len(ids)):
                await self.emit(self.event(EventType.ESCALATION_RAISED, step.id, to=self.commander(),
                                           reason=f"quorum of {quorum} can no longer be met"))
        self.dirty.update(ids)

    def may_succeed(self, sid: str) -> bool:
        """Whether a step has succeeded or still can: not ended otherwise, and no need of it
        (however far back) has failed, so a dependent about to be blocked does not count."""
        status = self.state.steps[sid].status
        if status is StepStatus.SUCCEEDED:
            return True
        if status.finished:
            return False
        return all(self.state.steps[n].status is StepStatus.SKIPPED or self.may_succeed(n)
                   for n in self.runbook.needs_of(sid))

    def commander(self) -> str:
        return next((p for p, r in self.runbook.roles.items() if r == "commander"), self.state.starter)

    # rollback -----------------------------------------------------------------------------
    async def start_rollback(self, why: str, scope: tuple[str, ...]) -> None:
        self.rollback = why
        for sid in scope:
            s = self.state.steps[sid]
            if s.status is StepStatus.RUNNING:
                await self.end_attempt(sid, "cancel")
        pending = [sid for sid, s in self.state.steps.items()
                   if s.status in (StepStatus.PENDING, StepStatus.WAITING, StepStatus.BLOCKED, StepStatus.IN_DOUBT)]
        for sid in pending:
            self.next_token(sid)
            await self.release_locks(self.runbook.step(sid))
        if pending:
            await self.emit(*(self.event(EventType.STEP_CANCELLED, sid, reason=why) for sid in pending))
        completed = sorted(
            (s for s in self.state.steps.values()
             if s.status is StepStatus.SUCCEEDED and self.runbook.step(s.id).undo is not None),
            key=lambda s: (s.ended_at or 0.0, self.order[s.id]),
            reverse=True,
        )
        self.undo_queue.extend(s.id for s in completed)

    async def next_undo(self) -> None:
        if self.undoing is not None or not self.undo_queue:
            return
        if any(s.status is StepStatus.RUNNING for s in self.state.steps.values()):
            return  # cancelled attempts report first
        sid = self.undo_queue.pop(0)
        step = self.runbook.step(sid)
        self.undoing = sid
        assert step.undo is not None
        try:
            rendered = render_command(step.undo, resolver(self.state, self.runbook))
        except CommandRenderError as exc:
            await self.emit(self.event(EventType.UNDO_STARTED, sid, command=step.undo if isinstance(step.undo, str) else list(step.undo)))
            self.queue.put_nowait(UndoDone(sid, False, f"cannot run the undo: {exc}"))
            return
        await self.emit(self.event(EventType.UNDO_STARTED, sid, command=rendered.shown))
        if self.options.drill:
            duration = outcome(step, 0, self.options.seed).duration_s / 2
            self.add_timer(duration, Timer("undo", sid))
            return

        def undo() -> None:
            try:
                proc = self.open_process(sid, rendered)
            except CommandNotStarted as exc:
                self.queue.put_nowait(UndoDone(sid, False, str(exc)))
                return
            self.spawn(self.report_undo(sid, proc))

        self.act(undo)

    async def report_undo(self, sid: str, proc: StepProcess) -> None:
        result = await self.settle_process(sid, proc)
        self.queue.put_nowait(UndoDone(sid, result.exit_code == 0, f"exit code {result.exit_code}"))

    async def handle_undo_done(self, done: UndoDone) -> None:
        self.undoing = None
        if done.ok:
            await self.emit(self.event(EventType.UNDO_SUCCEEDED, done.step))
        else:
            await self.emit(
                self.event(EventType.UNDO_FAILED, done.step, reason=done.reason),
                self.event(EventType.ESCALATION_RAISED, done.step, to=self.commander(), reason=f"undo of {done.step} failed: {done.reason}"),
            )
        self.mark_dependents(done.step)

    # people ---------------------------------------------------------------------------------
    async def approval_timed_out(self, step: Step) -> None:
        s = self.state.steps[step.id]
        if s.status is not StepStatus.WAITING:
            return
        if step.on_timeout is not None and step.on_timeout.value == "reject":
            await self.emit(self.event(EventType.APPROVAL_REJECTED, step.id, reason="no answer before the timeout"))
            await self.release_locks(step)
            await self.on_failure(step)
        else:
            await self.emit(self.event(EventType.ESCALATION_RAISED, step.id, to=self.commander(),
                                       reason=f"approval {step.id} unanswered after its timeout"))

    async def auto_answer(self, step: Step) -> None:
        s = self.state.steps[step.id]
        if s.status is not StepStatus.WAITING:
            return
        if step.kind is StepKind.APPROVAL:
            await self.emit(self.event(EventType.APPROVAL_GRANTED, step.id, actor=AUTO, reason="--auto"))
        else:
            await self.emit(self.event(EventType.OPERATOR_OVERRIDE, step.id, actor=AUTO, action="done", reason="--auto"))
        await self.release_locks(step)
        self.mark_dependents(step.id)

    async def handle_command(self, item: Command) -> None:
        command = item.command
        try:
            check(self.state, command)
        except Refused as exc:
            if not item.future.done():
                item.future.set_exception(exc)
            return
        before = self.state.steps.get(command.target)
        before_status = before.status if before is not None else None
        await self.emit(*events_for(self.state, command, self.clock.wall(), self.clock.now()))
        self.answer(item.future)
        await self.after_command(command, before_status)

    async def after_command(self, command: OperatorCommand, before: StepStatus | None) -> None:
        action, target = command.action, command.target
        if action is Action.ABORT:
            await self.abort(command)
            return
        if action in (Action.CLAIM, Action.RELEASE):
            self.mark_resource_waiters()
            return
        if action is Action.NOTE or target not in self.state.steps:
            return
        step = self.runbook.step(target)
        status = self.state.steps[target].status
        if action is Action.UNDO:
            self.undo_queue.append(target)
            return
        if before in (StepStatus.WAITING, StepStatus.RUNNING):
            self.next_token(target)
            if before is StepStatus.RUNNING:
                proc = self.procs.get(target)
                if proc is not None:
                    self.ending[target] = "cancel"
                    self.spawn(proc.stop())
            await self.release_locks(step)
        self.mark_dependents(target)
        self.dirty.add(target)
        if status is StepStatus.FAILED and action in (Action.REJECT, Action.FAIL):
            await self.on_failure(step)

    async def apply_inject(self, inject: Inject, actor: str = DRILL) -> None:
        await self.emit(self.event(EventType.DRILL_INJECT, inject.step, actor=actor, **inject.describe()))
        if inject.kind is InjectKind.NOTE:
            await self.emit(self.event(EventType.NOTE_ADDED, actor=actor, text=inject.text or ""))
        elif inject.kind is InjectKind.CLAIM:
            resource = inject.resource or ""
            if resource not in self.state.claims:
                await self.emit(self.event(EventType.CLAIM_MADE, actor=inject.by or DRILL, resource=resource, by=inject.by, reason="drill inject"))
                if inject.for_s is not None:
                    self.add_timer(inject.for_s, Timer("release", payload=resource))
        elif inject.kind is InjectKind.FAIL and inject.step is not None:
            if self.state.steps[inject.step].status is StepStatus.RUNNING:
                token = self.tokens.get(inject.step, 0)
                await self.handle_done(Done(inject.step, token, False, 1, reason="drill inject: the step failed"))
            else:
                self.fail_next.add(inject.step)
        elif inject.kind is InjectKind.SLOW and inject.step is not None:
            self.slow_next[inject.step] = self.slow_next.get(inject.step, 0.0) + inject.slow_s

    # ending ---------------------------------------------------------------------------------
    async def abort(self, command: OperatorCommand) -> None:
        """Stops the incident for good: running steps are cancelled, nothing else starts."""
        why = f"aborted by {command.actor}" + (f": {command.reason}" if command.reason else "")
        self.rollback = why  # no step starts from here on
        for sid in list(self.open):
            s = self.state.steps[sid]
            if s.status is StepStatus.RUNNING:
                await self.end_attempt(sid, "cancel")
            else:
                self.next_token(sid)
                await self.release_locks(self.runbook.step(sid))
                await self.emit(self.event(EventType.STEP_CANCELLED, sid, reason=why))

    async def finish_if_done(self) -> bool:
        await self.next_undo()
        if self.state.result is RunResult.ABORTED:
            return not (self.open or self.procs)
        if self.undoing is not None or self.undo_queue or self.dirty:
            return False
        if self.state.result is not RunResult.RUNNING:
            return False
        steps = self.state.steps
        if self.open or self.procs:
            return False
        if self.rollback is not None:
            undo_failed = any(s.status is StepStatus.UNDO_FAILED for s in steps.values())
            result = RunResult.FAILED if undo_failed else RunResult.ROLLED_BACK
            await self.emit(self.event(EventType.ESCALATION_RAISED, to=self.commander(), reason=self.rollback))
        else:
            result = RunResult.SUCCEEDED if self.all_scopes_ok() else RunResult.FAILED
        await self.emit(self.event(EventType.RUN_FINISHED, result=result.value))
        return True

    def all_scopes_ok(self) -> bool:
        if self.runbook.phases:
            return all(self.scope_result(p.step_ids, p.on_failure, p.quorum)[1] for p in self.runbook.phases)
        return self.scope_result(self.runbook.step_ids, self.runbook.on_failure, self.runbook.quorum)[1]

    def kill_children(self) -> None:
        """Ends every running step's process group at once (the run is being left)."""
        for proc in list(self.procs.values()):
            proc.kill_now()

    async def interrupt(self, signal_name: str) -> None:
        """Stops every child (their steps stay in doubt: we cannot know what they did) and
        journals the interruption so `warroom resume` can carry on."""
        self.kill_children()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=5)
        await self.emit(self.event(EventType.RUN_INTERRUPTED, actor=self.options.actor, signal=signal_name))
