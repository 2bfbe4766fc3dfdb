"""The console from the command line: run the app on a session, return an exit code.

Whatever goes wrong opening the journal (locked by another runner, damaged) is printed as one
line after the console has released the terminal, never as a traceback.
"""

from __future__ import annotations

from dataclasses import replace

from warroom.cli.output import say
from warroom.engine.clock import parse_speed
from warroom.engine.commands import journal_flag
from warroom.engine.outcome import ExitCode
from warroom.engine.session import LiveSession, NothingToResume
from warroom.journal.anchors import head_line
from warroom.tui.app import WarroomApp
from warroom.tui.session import ConsoleSession, ReplaySession


def _run(session: ConsoleSession) -> int:
    app = WarroomApp(session, handle_signals=True)
    code = app.run()
    if app.fatal is not None:
        say(str(app.fatal))
        return ExitCode.OK if isinstance(app.fatal, NothingToResume) else ExitCode.FAILED
    if isinstance(session, LiveSession) and session.head:
        say(head_line(app.incident, session.head))
    if code is None or code == ExitCode.INTERRUPTED or code > 128:
        if isinstance(session, LiveSession) and app.incident:
            say(f"interrupted; carry on with: warroom resume {app.incident}{journal_flag(session.journal)}")
        return (code or ExitCode.INTERRUPTED) if isinstance(session, LiveSession) else ExitCode.OK
    return int(code)


def run_console(session: LiveSession) -> int:
    """`warroom run` or `resume`: the incident live in the console, which waits for people
    instead of stopping: it is where they act."""
    session.options = replace(session.options, stop_when_waiting=False, linger=True)
    return _run(session)


def replay_console(journal: str, incident: str, speed: str | float | None) -> int:
    """`warroom replay`: the journal played back through the same reducer, read-only."""
    session = ReplaySession.load(journal, incident, _replay_speed(speed))
    if session.runbook is None:
        say(f"{incident} has no run.started event; nothing to replay")
        return ExitCode.FAILED
    return _run(session)


def _replay_speed(speed: str | float | None) -> float | None:
    if speed is None:
        return 10.0
    try:
        return parse_speed(str(speed))
    except ValueError:
        return 10.0
