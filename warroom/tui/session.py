"""What the console drives: a live engine (run, resume: engine.session.LiveSession) or a
read-only replay.

The app sees one small surface (state, clock, submit, interrupt), so the same screens serve a
live incident and its replay a year later.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from enum import Enum

from warroom.engine.commands import OperatorCommand, Refused
from warroom.engine.drill import Inject
from warroom.engine.loop import EventListener, OutputListener
from warroom.engine.outcome import Outcome
from warroom.engine.session import LiveSession
from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState
from warroom.journal.store import JournalReader
from warroom.runbook.model import Runbook
from warroom.tui.replay_index import CHECKPOINT_EVERY, ReplayIndex, copy_state

REPLAY_MAX_GAP_S = 2.0
"""A replay never sits longer than this (real seconds) between two events."""


class Notable(str, Enum):
    """The kinds of event a replay can jump to and the scrubber marks."""

    FAILURE = "failure"
    APPROVAL = "approval"
    CLAIM = "claim"
    NOTE = "note"


NOTABLE_TYPES: dict[str, Notable] = {
    "step.failed": Notable.FAILURE, "step.timed_out": Notable.FAILURE, "undo.failed": Notable.FAILURE,
    "run.aborted": Notable.FAILURE,
    "approval.requested": Notable.APPROVAL, "approval.granted": Notable.APPROVAL,
    "approval.rejected": Notable.APPROVAL,
    "claim.made": Notable.CLAIM, "claim.released": Notable.CLAIM,
    "note.added": Notable.NOTE,
}
SPEEDS = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
"""The replay speeds + and - step through."""
BURST = 200
"""Events played without a pause before the console gets a chance to paint."""


def nearest_speed(speed: float | None) -> float:
    """The replay speed closest to `speed` (max, None, is the fastest)."""
    if speed is None:
        return SPEEDS[-1]
    return min(SPEEDS, key=lambda s: abs(math.log(s / speed)))


@dataclass
class ReplaySession:
    """A journaled incident played back through the same reducer; commands are refused.

    `position` is how many events are folded (1 to n: run.started is always in). The events
    stay in the journal (see ReplayIndex): opening reads an index, playing pages them in.
    Seeking restores the nearest checkpoint at or before the target (kept by the index's
    background fold, or on the way here) and folds forward with the one Reducer, so the state
    shown at event k is the live run's state after its k-th event.
    """

    journal: str
    incident: str
    index: ReplayIndex[Notable]
    speed: float = 10.0
    paused: bool = False
    reducer: Reducer = field(default_factory=Reducer)
    position: int = 0
    _listeners: tuple[EventListener, OutputListener] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stopped: bool = False
    live = False

    @property
    def state(self) -> IncidentState:
        return self.reducer.state

    @property
    def actor(self) -> str:
        return "replay"

    @property
    def runbook(self) -> Runbook | None:
        return self.reducer.state.runbook

    @property
    def marks(self) -> list[tuple[int, Notable, float]]:
        """(position, kind, time) of the notable events, once the background has found them."""
        return self.index.marks

    @property
    def total(self) -> int:
        return len(self.index)

    @property
    def at_end(self) -> bool:
        return self.position >= self.total

    def now(self) -> float:
        return (self.state.last_mono or 0.0) if self.position else 0.0

    def output_time(self) -> float:
        return self.now()

    @classmethod
    def load(cls, journal: str, incident: str, speed: float | None, *, paused: bool = False,
             checkpoint_every: int = CHECKPOINT_EVERY) -> ReplaySession:
        """Reads the incident's index and folds its first event (run.started), so the
        console knows the runbook before it draws anything; checkpoints fold behind."""
        index = ReplayIndex(journal, incident, NOTABLE_TYPES, checkpoint_every=checkpoint_every)
        session = cls(journal, incident, index, nearest_speed(speed), paused)
        if len(index):
            session.seek(1)
            index.start_background()
        return session

    async def open(self, on_event: EventListener, on_output: OutputListener) -> str:
        self._listeners = (on_event, on_output)
        return self.incident

    def events(self, start: int, stop: int) -> list[Event]:
        """The events at positions start..stop-1 (0-based), read from the journal."""
        return self.index.events(start, stop)

    # seeking ----------------------------------------------------------------------------------
    def seek(self, k: int) -> None:
        """Shows the state after the first `k` events (clamped to 1..n)."""
        k = max(1 if self.total else 0, min(k, self.total))
        base = self.index.nearest_checkpoint(k, self.position if k >= self.position else 0)
        if k < self.position or base > self.position:
            self._restore(base)
        if k - self.position > BURST:  # many at once: the reducer's fast path over raw rows
            self.reducer.apply_rows(self.index.rows(self.position, k))
            self.position = k
        while self.position < k:
            self._fold_next()
        self._wake.set()

    def _restore(self, n: int) -> None:
        self.reducer = Reducer()
        self.position = n
        if n:
            self.reducer.state = copy_state(self.index.checkpoints[n])

    def _fold_next(self) -> Event:
        event = self.index.event(self.position)
        self.reducer.apply(event)
        self.position += 1
        return event

    def notable(self, forward: bool, kinds: frozenset[Notable] = frozenset(Notable)) -> int | None:
        """The position that shows the next (or previous) notable event of `kinds`, if any."""
        shown = self.position - 1  # the index of the newest event folded
        found = [i for i, kind, _ in self.marks if kind in kinds and (i > shown if forward else i < shown)]
        if not found:
            return None
        return (found[0] if forward else found[-1]) + 1

    def final_state(self) -> IncidentState:
        """The state after the last event (for the after-action report): the background
        fold's, or folded here when it has not finished."""
        if self.index.final is None:
            with JournalReader(self.journal) as reader:
                self.index.final = reader.state(self.incident)
        return self.index.final

    # playing ----------------------------------------------------------------------------------
    def set_speed(self, step: int) -> None:
        i = SPEEDS.index(self.speed) if self.speed in SPEEDS else SPEEDS.index(nearest_speed(self.speed))
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i + step))]
        self._wake.set()

    def toggle(self) -> None:
        """Play or pause; playing at the end starts again from the beginning."""
        if self.paused and self.at_end:
            self.seek(1)
        self.paused = not self.paused
        self._wake.set()

    def play(self) -> None:
        """Folds the next event and tells the console about it."""
        assert self._listeners is not None
        event = self._fold_next()
        self._listeners[0](event)

    async def run(self) -> Outcome:
        """Plays until the console leaves; pauses at the end, where seeking still works."""
        mono = self.index.mono
        while not self._stopped:
            self._wake.clear()
            if self.paused or self.at_end:
                self.paused = self.paused or self.at_end
                await self._wake.wait()
                continue
            gap = (mono(self.position) - self.now()) / self.speed
            if gap > 0:
                try:
                    await asyncio.wait_for(self._wake.wait(), min(REPLAY_MAX_GAP_S, gap))
                    continue  # paused, seeked or sped up: wait again from where it is now
                except TimeoutError:
                    pass
            for _ in range(BURST):
                self.play()
                if self.at_end or mono(self.position) > self.now():
                    break
            await asyncio.sleep(0)
        return Outcome.FINISHED

    async def submit(self, command: OperatorCommand) -> None:
        raise Refused("this is a replay: it shows what happened and takes no commands")

    async def inject(self, inject: Inject, actor: str) -> None:
        raise Refused("this is a replay: it shows what happened and takes no injects")

    def interrupt(self, why: str) -> None:
        """Leaving ends the replay's player."""
        self._stopped = True
        self._wake.set()

    async def close(self) -> None:
        """A replay holds no writer; its index's reader and background fold end here."""
        self.index.close()


ConsoleSession = LiveSession | ReplaySession
