"""Repeatable console states for snapshot tests, screenshots and the benchmark.

A drill on a halting virtual clock runs at full speed up to a chosen moment and then stands
still, so "mid-incident" is the same picture on every machine: same seed, same incident id,
same elapsed times. `SettlingEngine` says when the engine has nothing left to do but wait.
A replay is of a drill recorded the same way, run to its end with --auto, opened paused at a
fixed event.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from pathlib import Path

from warroom.engine.clock import Clock, VirtualClock
from warroom.engine.commands import Action, OperatorCommand
from warroom.engine.drill import Inject, InjectKind
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine
from warroom.journal.store import JournalWriter
from warroom.runbook.loader import load_runbook
from warroom.runbook.model import Runbook
from warroom.tui.app import WarroomApp
from warroom.engine.session import LiveSession
from warroom.tui.session import ReplaySession

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"
START_WALL = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: a fixed incident id
HALTED_S = 10_000_000.0
"""Real seconds a halted clock asks the engine to wait: for a test, forever."""


@dataclass
class HaltingClock(VirtualClock):
    """Virtual time at full speed up to `halt_at`, then still (until a command moves things)."""

    halt_at: float = math.inf

    def real_delay(self, until: float) -> float | None:
        return None if until <= self.halt_at else HALTED_S

    def pace(self, people: bool) -> None:
        """Pictures are deterministic: no 1x while people are awaited (a real drill's is)."""


class SettlingEngine(Engine):
    """An Engine that signals `settled` whenever it is about to wait with nothing to do."""

    def __init__(self, writer: JournalWriter, runbook: Runbook, options: RunOptions, clock: Clock) -> None:
        super().__init__(writer, runbook, options, clock)
        self.settled = asyncio.Event()

    async def next_item(self) -> object:
        await self.commit()  # what the last report decided is durable and shown first
        live = [due for due, timer in self.timers.items() if not self.ledger.stale(timer)]
        idle = self.queue.empty() and not self.runner.busy() and (
            not live or self.clock.real_delay(min(live)) not in (None, 0.0))
        if idle:
            self.settled.set()
        item = await super().next_item()
        self.settled.clear()
        return item


@dataclass(frozen=True)
class Scenario:
    runbook: str
    halt_at: float = math.inf
    injects: tuple[Inject, ...] = ()
    actor: str = "alice"
    commands: tuple[OperatorCommand, ...] = ()  # sent once the drill has settled
    select: str | None = None
    keys: tuple[str, ...] = ()  # pressed last (e.g. open a dialog)
    ends: bool = False  # the run reaches its end: its end is announced before the picture
    vars: dict[str, str] = field(default_factory=dict)


SCENARIOS: dict[str, Scenario] = {
    "mid-incident": Scenario("web-outage.yaml", halt_at=150.0, select="restart-web"),
    "lock-conflict": Scenario(
        "web-outage.yaml", halt_at=200.0, select="drain-web",
        injects=(Inject(0.0, InjectKind.CLAIM, resource="web-fleet", by="bob", for_s=3600.0),),
    ),
    "approval": Scenario(
        "bank-batch-recovery.yaml", actor="helen", select="approve-stop", keys=("a",),
        commands=(OperatorCommand(Action.DONE, "open-change", "helen"),),
    ),
    "hybrid": Scenario("database-disk-full.yaml", halt_at=300.0, select="assign-roles"),
    "failure-rollback": Scenario(
        "web-outage.yaml", select="undrain-web", ends=True,
        injects=(Inject(0.0, InjectKind.FAIL, step="undrain-web"),),
    ),
}


def build_app(name: str, journal: str | Path) -> WarroomApp:
    """The console on scenario `name`, journaling to `journal` (a fresh file)."""
    scenario = SCENARIOS[name]
    runbook = load_runbook(RUNBOOKS / scenario.runbook, scenario.vars)
    options = RunOptions(actor=scenario.actor, drill=True, seed=7, speed=None, injects=scenario.injects,
                         source=str(RUNBOOKS / scenario.runbook))
    clock = HaltingClock(speed=None, start_wall=START_WALL, halt_at=scenario.halt_at)
    session = LiveSession(str(journal), runbook, options, clock=clock, engine_factory=SettlingEngine)
    return WarroomApp(session, refresh_s=0.1, blink=False)


async def settle(app: WarroomApp, rounds: int = 1500) -> None:
    """Waits until the engine has nothing left to do (up to 15 s: a loaded CI machine is
    slow), then draws that state."""
    for _ in range(rounds):
        engine = getattr(app.session, "engine", None)
        idle = app.drive_done or (app.outcome is None and isinstance(engine, SettlingEngine) and engine.settled.is_set())
        if idle and not app.workers_busy():
            break
        await asyncio.sleep(0.01)
    app.tick()
    app.redraw()


async def arrive(app: WarroomApp, pilot: object, name: str) -> None:
    """Drives a freshly mounted scenario app to its state: settle, commands, selection, keys."""
    scenario = SCENARIOS[name]
    await settle(app)
    for command in scenario.commands:
        await app.session.submit(command)
        await settle(app)
    if scenario.select is not None:
        app.graph.select(scenario.select)
    app.clear_notifications()
    press = getattr(pilot, "press")
    for key in scenario.keys:
        await press(key)
    await settle(app)
    for _ in range(1500 if scenario.ends else 0):
        if app.drive_done:
            break
        await asyncio.sleep(0.01)
    pause = getattr(pilot, "pause")
    await pause()  # notify() posts a message: let a late toast arrive, then clear it
    app.clear_notifications()  # when a toast appears (the run finishing) is timing, not state
    await pause()


RECORDED = Scenario(
    "web-outage.yaml",
    injects=(Inject(45.0, InjectKind.NOTE, text="support: customers see 502s on checkout"),
             Inject(100.0, InjectKind.CLAIM, resource="web-fleet", by="bob", for_s=60.0)),
)
"""The drill a replay shows: a retried failure (the seed's), a note, a claim, auto answers."""
REPLAY_AT = 24
"""The event the replay pictures stand on: mid-incident, the claim held, the failure behind."""


async def record(journal: str | Path, scenario: Scenario = RECORDED) -> str:
    """Runs `scenario` as a drill to its end (people answered by --auto) into `journal`."""
    runbook = load_runbook(RUNBOOKS / scenario.runbook, scenario.vars)
    options = RunOptions(actor=scenario.actor, drill=True, seed=7, speed=None, auto=True,
                         injects=scenario.injects, source=str(RUNBOOKS / scenario.runbook))
    writer = await JournalWriter.open(journal)
    try:
        engine = Engine(writer, runbook, options, VirtualClock(speed=None, start_wall=START_WALL))
        incident = await engine.start([])
        await engine.run()
    finally:
        await writer.close()
    return incident


def build_replay_app(journal: str | Path, incident: str, position: int = REPLAY_AT) -> WarroomApp:
    """The console replaying `incident`, paused after its `position`-th event."""
    session = ReplaySession.load(str(journal), incident, 10.0, paused=True)
    session.index.wait()  # the scrubber's marks are found: the same picture every time
    session.seek(position)
    return WarroomApp(session, refresh_s=0.1, blink=False)
