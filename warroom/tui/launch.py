"""Entry points the CLI calls: build a session, run the console, return an exit code.

Whatever goes wrong opening the journal (locked by another runner, damaged) is printed as one
line after the console has released the terminal, never as a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

from warroom.engine.scheduler import RunOptions
from warroom.journal.state import IncidentState
from warroom.runbook.model import Runbook
from warroom.tui.app import EXIT_FAILED, EXIT_INTERRUPTED, WarroomApp
from warroom.tui.session import ConsoleSession, LiveSession, ReplaySession, Resumption


def _say(message: str) -> None:
    print(f"warroom: {message}", file=sys.stderr)


def _run(session: ConsoleSession) -> int:
    app = WarroomApp(session, handle_signals=True)
    code = app.run()
    if app.fatal is not None:
        _say(app.fatal)
        return EXIT_FAILED
    if code is None or code == EXIT_INTERRUPTED or code > 128:
        if isinstance(session, LiveSession) and app.incident:
            _say(f"interrupted; carry on with: warroom resume {app.incident}")
        return (code or EXIT_INTERRUPTED) if isinstance(session, LiveSession) else 0
    return int(code)


def run_console(journal: str, runbook: Runbook, options: RunOptions, secret_values: list[str]) -> int:
    """`warroom run RUNBOOK`: a new incident, live in the console."""
    return _run(LiveSession(journal, runbook, _console_options(options), list(secret_values)))


def resume_console(journal: str, incident: str, state: IncidentState, options: RunOptions,
                   note: dict[str, Any]) -> int:
    """`warroom resume`: the journaled incident carries on in the console."""
    runbook = state.runbook
    assert runbook is not None
    from warroom.engine.cli_handlers import secret_values

    session = LiveSession(journal, runbook, _console_options(options), secret_values(runbook),
                          resumption=Resumption(incident, state, note))
    return _run(session)


def replay_console(journal: str, incident: str, speed: str | float | None) -> int:
    """`warroom replay`: the journal played back through the same reducer, read-only."""
    session = ReplaySession.load(journal, incident, _replay_speed(speed))
    if session.runbook is None:
        _say(f"{incident} has no run.started event; nothing to replay")
        return EXIT_FAILED
    return _run(session)


def _replay_speed(speed: str | float | None) -> float | None:
    from warroom.engine.clock import parse_speed

    if speed is None:
        return 10.0
    try:
        return parse_speed(str(speed))
    except ValueError:
        return 10.0


def _console_options(options: RunOptions) -> RunOptions:
    """The console waits for people instead of stopping: it is where they act."""
    from dataclasses import replace

    return replace(options, stop_when_waiting=False)
