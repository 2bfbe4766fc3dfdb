"""The decider's working set: the folded state, the events staged in this pass, the effects.

Every decision function takes a Ledger and appends to it: `emit` stages events with the
journal writer (in memory: seq and hash, no I/O) and folds them at once, so the next decision
sees them; `effects` collects what the runner must do once they are durable. The derived
step sets (open, running, waiting on resources, slots, people) are kept current from each
folded event, so no decision scans every step. Nothing here awaits, spawns or sleeps.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from warroom.engine.clock import Clock
from warroom.engine.drill import Inject
from warroom.engine.effects import Arm, Effect
from warroom.engine.timers import Timer
from warroom.journal.events import ENGINE, Event, EventType, NewEvent
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState, StepStatus, WaitReason
from warroom.runbook.model import Runbook, Step, StepKind

UNCOUNTED = frozenset({StepKind.MANUAL, StepKind.ESCALATE, StepKind.APPROVAL, StepKind.DECIDE})
"""Kinds that do not take one of max_parallel's slots: people's steps and decisions."""
_RESOURCES = frozenset({WaitReason.LOCK, WaitReason.CLAIM})
_PEOPLE = frozenset({WaitReason.PERSON, WaitReason.CLAIM})

_FAILING = frozenset({EventType.STEP_FAILED.value, EventType.STEP_TIMED_OUT.value,
                      EventType.APPROVAL_REJECTED.value, EventType.OPERATOR_OVERRIDE.value})
"""Events after which a step may have failed for good: its scope's policy then applies."""

Stage = Callable[[list[NewEvent]], list[Event]]
WriteOutput = Callable[[str, str, str], None]
"""Journals output lines (step, stream, text) in order with the events staged around them."""


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


class Ledger:
    def __init__(self, runbook: Runbook, options: RunOptions, clock: Clock, stage: Stage,
                 write_output: WriteOutput) -> None:
        self.runbook = runbook
        self.options = options
        self.clock = clock
        self.stage = stage
        self.write_output = write_output
        self.reducer = Reducer()
        self.staged: list[Event] = []  # folded, not yet committed
        self.effects: list[Effect] = []
        self.tokens: dict[str, int] = {}  # a step's current attempt token
        self.polls: dict[str, int] = {}  # runs of a check polling `until`, this attempt
        self.dirty: set[str] = set()  # steps to decide in the next pass
        self.failures: set[str] = set()  # steps that failed in this pass: their policy applies
        self.open: set[str] = set()
        self.running: set[str] = set()  # running steps that count against max_parallel
        self.resource_waiters: set[str] = set()
        self.slot_waiting: set[str] = set()
        self.slot_queue: list[tuple[int, str]] = []  # the same, in file order (lazy heap)
        self.people_waits: set[str] = set()  # in doubt, or waiting on a person or a claim
        self.undoing: str | None = None  # the step whose undo runs
        self.stopping: dict[str, int] = {}  # step -> the attempt token being stopped
        self.steps: dict[str, Step] = {s.id: s for s in runbook.steps}
        self.order = {sid: i for i, sid in enumerate(runbook.step_ids)}
        self.needs: dict[str, tuple[str, ...]] = {sid: tuple(runbook.needs_of(sid)) for sid in runbook.step_ids}
        self.dependents: dict[str, list[str]] = {sid: [] for sid in runbook.step_ids}
        for sid, needs in self.needs.items():
            for need in needs:
                self.dependents[need].append(sid)

    @property
    def state(self) -> IncidentState:
        return self.reducer.state

    # events -------------------------------------------------------------------------------
    def event(self, type_: EventType, step: str | None = None, actor: str = ENGINE, **data: Any) -> NewEvent:
        return NewEvent(type_, actor, self.clock.wall(), self.clock.now(), step, data)

    def emit(self, *events: NewEvent) -> None:
        self.fold(self.stage(list(events)))

    def fold(self, stored: Sequence[Event]) -> None:
        apply, track = self.reducer.apply, self.track
        for ev in stored:
            apply(ev)
            if ev.step is not None:
                track(ev.step)
                if ev.type in _FAILING and self.state.steps[ev.step].status is StepStatus.FAILED:
                    self.failures.add(ev.step)
        self.staged.extend(stored)

    def track(self, sid: str) -> None:
        """Keeps the derived step sets current and marks what the change may move on."""
        s = self.state.steps.get(sid)
        if s is None or sid not in self.order:
            return
        if s.undoing:
            self.undoing = sid
        elif self.undoing == sid:
            self.undoing = None
        status = s.status
        if status.finished:
            if sid in self.open:
                self.open.discard(sid)
                self.dirty.update(self.dependents[sid])
        else:
            self.open.add(sid)
        if status is StepStatus.RUNNING and self.steps[sid].kind not in UNCOUNTED:
            self.running.add(sid)
        elif sid in self.running:
            self.running.discard(sid)
            self.dirty.update(self.resource_waiters)
        on = s.waiting_on.on if status is StepStatus.WAITING and s.waiting_on is not None else None
        (self.resource_waiters.add if on in _RESOURCES else self.resource_waiters.discard)(sid)
        if on is WaitReason.SLOT:
            self.queue_for_slot(sid)
        else:
            self.slot_waiting.discard(sid)
        waits_on_people = status is StepStatus.IN_DOUBT or on in _PEOPLE
        (self.people_waits.add if waits_on_people else self.people_waits.discard)(sid)

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
            if sid in self.slot_waiting:
                self.slot_waiting.discard(sid)
                self.dirty.add(sid)
                free -= 1

    # attempts and timers -------------------------------------------------------------------
    def next_token(self, sid: str) -> int:
        self.tokens[sid] = self.tokens.get(sid, 0) + 1
        return self.tokens[sid]

    def current(self, sid: str | None, token: int) -> bool:
        return sid is not None and self.tokens.get(sid) == token

    def stale(self, timer: Timer) -> bool:
        """A timer of an attempt or a wait that has since ended."""
        return timer.kind.of_attempt and not self.current(timer.step, timer.token)

    def arm(self, delay: float, timer: Timer) -> None:
        self.effects.append(Arm(self.clock.now() + delay, timer))

    def arm_at(self, due: float, timer: Timer) -> None:
        self.effects.append(Arm(due, timer))

    def take(self) -> tuple[list[Event], list[Effect]]:
        """What this pass staged and asked for, handed to the runner."""
        events, effects = self.staged, self.effects
        self.staged, self.effects = [], []
        return events, effects

    def commander(self) -> str:
        return next((p for p, r in self.runbook.roles.items() if r == "commander"), self.state.starter)
