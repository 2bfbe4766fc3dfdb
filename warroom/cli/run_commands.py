"""`warroom run`, `resume`, `replay`, and the operator commands from a shell.

A run opens one LiveSession whether it is shown in the console or printed headless; an
operator command on a stopped incident goes through the same `decide.command` the live
engine uses, so it is refused for the same reasons and `resume` carries on from it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time

from warroom.cli.headless import HeadlessPrinter
from warroom.cli.output import say
from warroom.engine import decide
from warroom.engine.clock import parse_speed
from warroom.engine.commands import Action, OperatorCommand, Refused, continue_hint, journal_flag
from warroom.engine.drill import load_injects
from warroom.engine.ledger import Ledger, RunOptions
from warroom.engine.outcome import ExitCode, Outcome, exit_code
from warroom.engine.session import (
    LiveSession, NothingToResume, make_clock, opening_state, refuse_second_copy, resume_options, secret_values,
    secrets_in_names, unset_secrets,
)
from warroom.journal.anchors import head_line
from warroom.journal.errors import JournalError
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState
from warroom.journal.store import JournalReader, JournalWriter
from warroom.journal.timeline import event_line
from warroom.runbook.loader import load_runbook, parse_var_pairs
from warroom.runbook.model import Runbook

_SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


def cmd_run(args: argparse.Namespace) -> int:
    runbook = load_runbook(args.runbook, parse_var_pairs(args.var))
    try:
        speed = parse_speed(args.speed)
    except ValueError as exc:
        say(f"--speed {args.speed!r}: {exc}")
        return ExitCode.USAGE
    if not args.drill and (args.inject or args.speed not in ("1", "1.0")):
        say("--inject and --speed only apply to a --drill")
        return ExitCode.USAGE
    if args.auto and not args.drill:
        say("--auto answers people's steps for them: it is for drills only (add --drill), never a real run")
        return ExitCode.USAGE
    injects = tuple(load_injects(args.inject, runbook)) if args.inject else ()
    if not _secrets_set(runbook, args.drill):  # after every usage check: bad input is one line
        return ExitCode.USAGE
    options = RunOptions(
        actor=args.actor, drill=args.drill, seed=args.seed, speed=speed, auto=args.auto,
        stop_when_waiting=args.headless, linger=not args.headless, injects=injects,
        source=os.path.abspath(args.runbook),
    )
    session = LiveSession(args.journal, runbook, options, secret_values(runbook))
    return _open(session, args.headless)


def cmd_resume(args: argparse.Namespace) -> int:
    state, warnings = opening_state(args.journal, args.incident)
    for warning in warnings:
        say(f"warning: {warning}")
    assert state.runbook is not None
    if args.auto and not state.drill:
        say(f"--auto is for drills only: {state.incident} is a real incident")
        return ExitCode.USAGE
    if not _secrets_set(state.runbook, state.drill):
        return ExitCode.USAGE
    options = resume_options(state, args.actor, auto=args.auto, headless=args.headless)
    session = LiveSession(args.journal, state.runbook, options, secret_values(state.runbook), resume=state.incident)
    return _open(session, args.headless)


def _secrets_set(runbook: Runbook, drill: bool) -> bool:
    """A real run whose secrets are not all in the environment stops before anything starts;
    a drill runs no command, so it only warns. A secret whose value is part of a name (a step
    id) stops either: redaction would take the name out of the record."""
    clashes = secrets_in_names(runbook)
    if clashes:
        say(f"secrets too short to redact safely: {'; '.join(clashes)}: use a longer, random value (nothing was started)")
        return False
    missing = unset_secrets(runbook)
    if not missing:
        return True
    names = ", ".join(missing)
    if drill:
        say(f"warning: secrets not set in the environment: {names} (a drill runs no command; a real run would refuse)")
        return True
    say(f"secrets not set in the environment: {names}: export them, then run again (nothing was started)")
    return False


def _open(session: LiveSession, headless: bool) -> int:
    if not headless:
        from warroom.cli.console import run_console

        return run_console(session)
    try:
        return asyncio.run(_headless(session))
    except NothingToResume as exc:
        say(str(exc))
        return ExitCode.OK


async def _headless(session: LiveSession) -> int:
    received: list[int] = []
    loop = asyncio.get_running_loop()
    for sig, name in _SIGNALS.items():
        def handler(sig: int = sig, name: str = name) -> None:
            received.append(sig)
            session.interrupt(name)

        loop.add_signal_handler(sig, handler)
    printer = HeadlessPrinter(session)
    try:
        await session.open(printer.on_event, printer.on_output)
        if session.note.get("runbook_changed"):
            say(f"the runbook changed since {session.resume} began ({session.note['diff']}); resuming with the journaled copy")
        outcome = await session.run()
    finally:
        await session.close()
    state = session.state
    say(head_line(state.incident, session.head))
    report_end(outcome, state, session.journal)
    return exit_code(outcome, state.result, received[0] if received else None)


def report_end(outcome: Outcome, state: IncidentState, journal: str) -> None:
    """What a stopped run tells the person at the shell: how it goes on, or how it ended."""
    where = journal_flag(journal)
    if outcome is Outcome.INTERRUPTED:
        say(f"interrupted; carry on with: warroom resume {state.incident}{where}")
    elif outcome is Outcome.WAITING:
        say(f"{state.incident} waits for a person; it goes on with:")
        for hint in continue_hint(state, where):
            print(f"  {hint}", file=sys.stderr)
    elif not state.result.value == "succeeded":
        say(f"{state.incident} ended {state.result.value}; see: warroom report {state.incident}{where}")
        for hint in continue_hint(state, where):  # an undo that failed can still be run again
            print(f"  {hint}", file=sys.stderr)


def cmd_operator(args: argparse.Namespace) -> int:
    """An operator command on a stopped incident: decided as the live engine would, then
    `resume` goes on. While a run is live its lock refuses this, naming the pid."""
    return asyncio.run(_operator(args))


async def _operator(args: argparse.Namespace) -> int:
    action = Action(args.command)
    target = getattr(args, "target", "") or ""
    writer = await JournalWriter.open(args.journal)
    try:
        with JournalReader(args.journal) as reader:
            info = reader.resolve(args.incident)
            reducer = reader.fold(info.id)
        state = reducer.state
        if state.runbook is None:
            raise JournalError(f"{info.id} has no run.started event")
        writer.set_secrets(secret_values(state.runbook))
        await writer.resume_incident(info.id)
        now = time.time()
        mono = (state.last_mono or 0.0) + (0.0 if state.drill else max(0.0, now - (state.last_ts or now)))
        ledger = Ledger(state.runbook, RunOptions(actor=args.actor, drill=state.drill), make_clock(False, 1.0, mono),
                        writer.stage, _no_output)
        ledger.reducer = reducer
        try:
            command = OperatorCommand(action, target, args.actor, getattr(args, "reason", "") or "",
                                      force=getattr(args, "force", False))
            refuse_second_copy(info.id, command)
            decide.command(ledger, command)
        except Refused as exc:
            say(f"refused: {exc}")
            return ExitCode.FAILED
        await writer.flush()
    finally:
        await writer.close()
    shown = f" {target}" if target else ""
    print(f"{action.value}{shown}: journaled in {info.id} as {args.actor}")
    if action not in (Action.NOTE, Action.ABORT):
        print(f"carry on with: warroom resume {info.id} --headless{journal_flag(args.journal)}")
    return ExitCode.OK


def _no_output(step: str, stream: str, text: str) -> None:
    """A command from a shell starts no step, so it never journals output."""


def cmd_replay(args: argparse.Namespace) -> int:
    with JournalReader(args.journal) as reader:
        info = reader.resolve(args.incident)
        if not args.headless:
            from warroom.cli.console import replay_console

            return replay_console(args.journal, info.id, args.speed)
        reducer = Reducer()
        for event in reader.events(info.id):
            reducer.apply(event)
            print(event_line(event, reducer.state.runbook, reducer.state.started_mono))
    return ExitCode.OK
