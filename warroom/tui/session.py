"""What the console drives: a live engine (run, resume) or a read-only replay.

The app sees one small surface (state, clock, submit, interrupt), so the same screens serve a
live incident and its replay a year later. The journal writer is opened here, inside the
app's event loop, because its commit tasks belong to that loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warroom.engine.cli_handlers import make_clock
from warroom.engine.clock import Clock
from warroom.engine.commands import OperatorCommand, Refused
from warroom.engine.scheduler import Engine, Outcome, RunOptions
from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState
from warroom.journal.store import JournalReader, JournalWriter
from warroom.runbook.model import Runbook

EventListener = Callable[[Event], None]
OutputListener = Callable[[str | None, str, str], None]
EngineFactory = Callable[[JournalWriter, Runbook, RunOptions, Clock], Engine]

REPLAY_MAX_GAP_S = 2.0
"""A replay never sits longer than this (real seconds) between two events."""


@dataclass
class Resumption:
    incident: str
    state: IncidentState
    note: dict[str, Any]


@dataclass
class LiveSession:
    """A run or resume: opens the writer, builds the engine, runs it until it ends."""

    journal: str
    runbook: Runbook
    options: RunOptions
    secrets: list[str] = field(default_factory=list)
    resumption: Resumption | None = None
    clock: Clock | None = None
    engine_factory: EngineFactory = Engine
    engine: Engine | None = None
    writer: JournalWriter | None = None
    live = True

    @property
    def state(self) -> IncidentState:
        return self.engine.state if self.engine is not None else IncidentState(runbook=self.runbook)

    @property
    def actor(self) -> str:
        return self.options.actor

    def now(self) -> float:
        return self.engine.clock.now() if self.engine is not None else 0.0

    async def open(self, on_event: EventListener, on_output: OutputListener) -> str:
        resumed = self.resumption
        self.writer = await JournalWriter.open(self.journal, secrets=self.secrets)
        if self.clock is None:
            if resumed is None:
                self.clock = make_clock(self.options.drill, self.options.speed)
            else:
                s = resumed.state
                wall = (s.started_ts or time.time()) - (s.started_mono or 0.0)
                self.clock = make_clock(self.options.drill, self.options.speed, s.last_mono or 0.0, wall)
        engine = self.engine = self.engine_factory(self.writer, self.runbook, self.options, self.clock)
        engine.listeners.append(on_event)
        engine.output_listeners.append(on_output)
        if resumed is None:
            return await engine.start(self.secrets)
        with JournalReader(self.journal) as reader:
            await engine.resume(resumed.incident, reader, resumed.note)
        return resumed.incident

    async def run(self) -> Outcome:
        assert self.engine is not None
        return await self.engine.run()

    async def submit(self, command: OperatorCommand) -> None:
        if self.engine is None:
            raise Refused("the incident is still opening")
        await self.engine.submit(command)

    def interrupt(self, why: str) -> None:
        if self.engine is not None:
            self.engine.request_interrupt(why)

    async def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            await writer.close()


@dataclass
class ReplaySession:
    """A journaled incident played back through the same reducer; commands are refused."""

    journal: str
    incident: str
    speed: float | None = 10.0  # None: everything at once
    reducer: Reducer = field(default_factory=Reducer)
    _events: list[Event] = field(default_factory=list)
    _listeners: tuple[EventListener, OutputListener] | None = None
    _mono: float = 0.0
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

    def now(self) -> float:
        return self._mono

    @classmethod
    def load(cls, journal: str, incident: str, speed: float | None) -> ReplaySession:
        """Reads the incident's events; the first (run.started) is folded at once, so the
        console knows the runbook before it draws anything."""
        with JournalReader(journal) as reader:
            events = list(reader.events(incident))
        session = cls(journal, incident, speed, _events=events)
        if events:
            session.reducer.apply(events[0])
            session._mono = events[0].mono
        return session

    async def open(self, on_event: EventListener, on_output: OutputListener) -> str:
        self._listeners = (on_event, on_output)
        if self._events:
            on_event(self._events[0])
        return self.incident

    def play(self, event: Event) -> None:
        assert self._listeners is not None
        self.reducer.apply(event)
        self._mono = event.mono
        on_event, on_output = self._listeners
        if event.type == "step.output":
            on_output(event.step, str(event.data.get("stream", "stdout")), str(event.data.get("text", "")))
        else:
            on_event(event)

    async def run(self) -> Outcome:
        previous = self._events[0].mono if self._events else 0.0
        for n, event in enumerate(self._events[1:]):
            if self.speed is not None and event.mono > previous:
                await asyncio.sleep(min(REPLAY_MAX_GAP_S, (event.mono - previous) / self.speed))
            elif n % 200 == 0:
                await asyncio.sleep(0)  # let the console paint between bursts
            previous = event.mono
            self.play(event)
        return Outcome.FINISHED

    async def submit(self, command: OperatorCommand) -> None:
        raise Refused("this is a replay: it shows what happened and takes no commands")

    def interrupt(self, why: str) -> None:
        """A replay has nothing to stop; leaving simply ends it."""

    async def close(self) -> None:
        """A replay holds no writer."""


ConsoleSession = LiveSession | ReplaySession
