"""Deterministic console apps for snapshot and pilot tests (as darrenburns/posting does).

Every app here is a drill on a halting virtual clock with a fixed seed and start time, so the
same state draws the same picture on every run. Pilot tests use `console_app` on a small
runbook that has one of everything the commands need (an approval, a manual step, a step
with a lock and an undo, a step that always fails).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.pilot import Pilot

from warroom.engine.ledger import RunOptions
from warroom.runbook.loader import load_runbook
from warroom.tui.app import WarroomApp
from warroom.tui.demo import START_WALL, HaltingClock, SettlingEngine, arrive, build_app, build_replay_app, record, settle
from warroom.engine.session import LiveSession

CONSOLE_RUNBOOK = """\
runbook: console-test
title: Console test
mode: parallel
on_failure: continue
roles: {alice: commander}
threads:
  ops: {title: Operations, owner: alice}
  app: {title: Application}
steps:
  - id: gate
    thread: ops
    approval: Restart the app tier now?
  - id: restart
    thread: app
    needs: [gate]
    run: echo restart
    undo: echo undo
    locks: [app-fleet]
    drill: {duration: [10s, 10s], stdout: "restarted"}
  - id: flaky
    thread: app
    run: echo flaky
    drill: {duration: [5s, 5s], fail: 1.0, stdout: "%s"}
  - id: confirm
    thread: ops
    needs: [restart]
    manual: Confirm the app answers on its health URL.
"""

HOSTILE_YAML = r"[bold red]x[/] \x1b[31mred\x1b[0m \x1b]52;c;aGVsbG8=\x07 end"
HOSTILE = "[bold red]x[/] \x1b[31mred\x1b[0m \x1b]52;c;aGVsbG8=\x07 end"
"""Output that would style the console, or write the clipboard, if it were interpreted."""


def console_runbook(tmp_path: Path) -> Path:
    path = tmp_path / "console-test.yaml"
    path.write_text(CONSOLE_RUNBOOK % HOSTILE_YAML)
    return path


def console_app(tmp_path: Path, *, actor: str = "alice", resume: tuple[str, float] | None = None) -> WarroomApp:
    """The test console; `resume` is (incident, the virtual time it stopped at)."""
    path = console_runbook(tmp_path)
    runbook = load_runbook(path)
    options = RunOptions(actor=actor, drill=True, seed=1, speed=None, source=str(path))
    clock = HaltingClock(speed=None, start_wall=START_WALL)
    if resume is not None:
        clock.advance_to(resume[1])
    session = LiveSession(str(tmp_path / "journal.db"), runbook, options, clock=clock,
                          engine_factory=SettlingEngine, resume=resume[0] if resume else None)
    return WarroomApp(session, refresh_s=1.0, blink=False)


async def type_text(pilot: Pilot[int], text: str) -> None:
    await pilot.press(*("space" if ch == " " else ch for ch in text))


def scenario_app(name: str, tmp_path: Path) -> WarroomApp:
    return build_app(name, tmp_path / f"{name}.db")


async def reach(app: WarroomApp, pilot: Pilot[int], name: str) -> None:
    await arrive(app, pilot, name)


__all__ = ["console_app", "scenario_app", "reach", "settle", "type_text", "HOSTILE", "build_replay_app", "recorded_journal"]


def recorded_journal(tmp_path: Path) -> tuple[Path, str]:
    """The deterministic drill the replay pictures show (demo.RECORDED), journaled to its end."""
    journal = tmp_path / "recorded.db"
    return journal, asyncio.run(record(journal))
