"""`warroom run`, `resume`, `replay --headless` and the operator commands from a shell."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from warroom.engine.clock import Clock, RealClock, VirtualClock, parse_speed
from warroom.engine.commands import Action, OperatorCommand, Refused, check, continue_hint, events_for
from warroom.engine.drill import Inject, load_injects
from warroom.engine.scheduler import Engine, Outcome, RunOptions
from warroom.journal.errors import JournalError
from warroom.journal.anchors import head_line
from warroom.journal.cli_handlers import warn_if_behind
from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState, RunResult
from warroom.journal.store import JournalReader, JournalWriter
from warroom.journal.timeline import event_line, line, output_text
from warroom.runbook.errors import RunbookError
from warroom.runbook.loader import load_runbook, parse_var_pairs
from warroom.runbook.model import Runbook

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAITING = 0, 1, 2, 3
_SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


def _say(message: str) -> None:
    print(f"warroom: {message}", file=sys.stderr)


def secret_values(runbook: Runbook) -> list[str]:
    return [os.environ[name] for name in runbook.secrets if os.environ.get(name)]


@dataclass
class Session:
    """What the console or the headless printer needs to drive one run."""

    engine: Engine
    writer: JournalWriter
    incident: str = ""


def fold(reader: JournalReader, incident: str) -> IncidentState:
    return Reducer().apply_rows(reader.rows(incident))


class HeadlessPrinter:
    """One line per event on stdout, output lines included, as the run goes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        engine.listeners.append(self.on_event)
        engine.output_listeners.append(self.on_output)

    def on_event(self, event: Event) -> None:
        state = self.engine.state
        print(event_line(event, state.runbook, state.started_mono), flush=False)

    def on_output(self, step: str | None, stream: str, text: str) -> None:
        state = self.engine.state
        print(line(self.engine.output_mono, state.started_mono, state.runbook, step, output_text(stream, text)))


def _install_signals(engine: Engine, received: list[int]) -> None:
    loop = asyncio.get_running_loop()
    for sig, name in _SIGNALS.items():
        def handler(sig: int = sig, name: str = name) -> None:
            received.append(sig)
            engine.request_interrupt(name)

        loop.add_signal_handler(sig, handler)


def _exit_code(outcome: Outcome, state: IncidentState, received: list[int]) -> int:
    if outcome is Outcome.INTERRUPTED:
        _say(f"interrupted; carry on with: warroom resume {state.incident}")
        return 128 + (received[0] if received else signal.SIGINT)
    if outcome is Outcome.WAITING:
        _say(f"{state.incident} waits for a person; it goes on with:")
        for hint in continue_hint(state):
            print(f"  {hint}", file=sys.stderr)
        return EXIT_WAITING
    if state.result is RunResult.SUCCEEDED:
        return EXIT_OK
    _say(f"{state.incident} ended {state.result.value}; see: warroom report {state.incident}")
    return EXIT_FAILED


def make_clock(drill: bool, speed: float | None, mono: float = 0.0, wall: float | None = None) -> Clock:
    if drill:
        clock = VirtualClock(speed=speed, start_wall=wall if wall is not None else time.time())
        clock.advance_to(mono)
        return clock
    return RealClock(offset=mono)


def resumed_clock(state: IncidentState, drill: bool, speed: float | None) -> Clock:
    """The clock a resumed run goes on with. A drill's virtual time carries on where it
    stopped; a real run's also counts the time the runner was down (as an operator command
    from a shell does), so approval timeouts and the deadline keep to the wall clock."""
    last = state.last_mono or 0.0
    if not drill:
        now = time.time()
        last += max(0.0, now - (state.last_ts or now))
    return make_clock(drill, speed, last, (state.started_ts or time.time()) - (state.started_mono or 0.0))


def cmd_run(args: argparse.Namespace) -> int:
    runbook = load_runbook(args.runbook, parse_var_pairs(args.var))
    try:
        speed = parse_speed(args.speed)
    except ValueError:
        _say(f"--speed {args.speed!r}: give a number above 0 or max")
        return EXIT_USAGE
    if not args.drill and (args.inject or args.speed not in ("1", "1.0")):
        _say("--inject and --speed only apply to a --drill")
        return EXIT_USAGE
    injects = tuple(load_injects(args.inject, runbook)) if args.inject else ()
    options = RunOptions(
        actor=args.actor, drill=args.drill, seed=args.seed, speed=speed, auto=args.auto,
        stop_when_waiting=args.headless, linger=not args.headless, injects=injects,
        source=os.path.abspath(args.runbook),
    )
    if not args.headless:
        from warroom.tui.launch import run_console

        return run_console(args.journal, runbook, options, secret_values(runbook))
    return asyncio.run(_headless_run(args.journal, runbook, options))


async def _headless_run(journal: str, runbook: Runbook, options: RunOptions) -> int:
    writer = await JournalWriter.open(journal)
    received: list[int] = []
    try:
        clock = make_clock(options.drill, options.speed)
        engine = Engine(writer, runbook, options, clock)
        HeadlessPrinter(engine)
        _install_signals(engine, received)
        await engine.start(secret_values(runbook))
        outcome = await engine.run()
    finally:
        await writer.close()
    _say(head_line(engine.state.incident, writer.head()))
    return _exit_code(outcome, engine.state, received)


def runbook_change_note(state: IncidentState) -> dict[str, Any]:
    """Whether the runbook file changed since the run began, and how (the journaled copy wins)."""
    runbook = state.runbook
    assert runbook is not None
    if not state.source or not os.path.exists(state.source):
        return {"runbook_changed": False, "diff": "runbook file not found; the journaled copy is used" if state.source else ""}
    try:
        current = load_runbook(state.source, {k: str(v) for k, v in state.vars.items() if k in runbook.vars})
    except RunbookError as exc:
        return {"runbook_changed": True, "diff": f"the file no longer loads ({len(exc.problems)} problems); the journaled copy is used"}
    if current.sha256() == state.runbook_sha256:
        return {"runbook_changed": False, "diff": ""}
    old = {s.id: s for s in runbook.steps}
    new = {s.id: s for s in current.steps}
    parts = []
    if added := sorted(set(new) - set(old)):
        parts.append("added " + ", ".join(added))
    if removed := sorted(set(old) - set(new)):
        parts.append("removed " + ", ".join(removed))
    normalized = {s["id"]: s for s in runbook.to_dict()["steps"]}
    if changed := sorted(sid for sid, s in ((s["id"], s) for s in current.to_dict()["steps"]) if sid in normalized and normalized[sid] != s):
        parts.append("changed " + ", ".join(changed))
    return {"runbook_changed": True, "diff": "; ".join(parts) or "settings changed"}


def _journaled_speed(started: dict[str, Any]) -> float | None:
    """A drill goes on at the --speed it began with (None is max); a real run at 1."""
    if not started.get("drill"):
        return 1.0
    try:
        return parse_speed(str(started.get("speed", "max")))
    except ValueError:
        return None


def cmd_resume(args: argparse.Namespace) -> int:
    with JournalReader(args.journal) as reader:
        warn_if_behind(reader)
        info = reader.resolve(args.incident)
        state = fold(reader, info.id)
        first = next(reader.events(info.id), None)
    if state.runbook is None or first is None:
        raise JournalError(f"{info.id} has no run.started event")
    if state.result in (RunResult.SUCCEEDED, RunResult.ROLLED_BACK, RunResult.ABORTED):
        _say(f"{info.id} already ended ({state.result.value}); nothing to resume")
        return EXIT_OK
    note = runbook_change_note(state)
    if note["runbook_changed"]:
        _say(f"the runbook changed since {info.id} began ({note['diff']}); resuming with the journaled copy")
    options = RunOptions(
        actor=args.actor, drill=state.drill, seed=int(state.seed or 0), speed=_journaled_speed(first.data),
        auto=args.auto or state.auto, stop_when_waiting=args.headless, linger=not args.headless,
        source=state.source, injects=tuple(Inject.from_planned(d) for d in state.planned_injects),
    )
    if not args.headless:
        from warroom.tui.launch import resume_console

        return resume_console(args.journal, info.id, state, options, note)
    return asyncio.run(_headless_resume(args.journal, info.id, state, options, note))


async def _headless_resume(journal: str, incident: str, state: IncidentState, options: RunOptions, note: dict[str, Any]) -> int:
    runbook = state.runbook
    assert runbook is not None
    writer = await JournalWriter.open(journal, secrets=secret_values(runbook))
    received: list[int] = []
    try:
        clock = resumed_clock(state, options.drill, options.speed)
        engine = Engine(writer, runbook, options, clock)
        HeadlessPrinter(engine)
        _install_signals(engine, received)
        with JournalReader(journal) as reader:
            await engine.resume(incident, reader, note)
        outcome = await engine.run()
    finally:
        await writer.close()
    _say(head_line(engine.state.incident, writer.head()))
    return _exit_code(outcome, engine.state, received)


def cmd_operator(args: argparse.Namespace) -> int:
    """An operator command on a stopped incident: checked, journaled, then `resume` goes on.
    While a run is live its lock refuses this, naming the pid: act in its console instead."""
    return asyncio.run(_operator(args))


async def _operator(args: argparse.Namespace) -> int:
    action = Action(args.command)
    writer = await JournalWriter.open(args.journal)
    try:
        with JournalReader(args.journal) as reader:
            info = reader.resolve(args.incident)
            state = fold(reader, info.id)
        if state.runbook is None:
            raise JournalError(f"{info.id} has no run.started event")
        writer.set_secrets(secret_values(state.runbook))
        command = OperatorCommand(action, args.target, args.actor, getattr(args, "reason", "") or "")
        try:
            check(state, command)
        except Refused as exc:
            _say(f"refused: {exc}")
            return EXIT_FAILED
        await writer.resume_incident(info.id)
        now = time.time()
        mono = (state.last_mono or 0.0) + (0.0 if state.drill else max(0.0, now - (state.last_ts or now)))
        await writer.append(events_for(state, command, now, mono))
    finally:
        await writer.close()
    print(f"{action.value} {args.target}: journaled in {info.id} as {args.actor}")
    if action is not Action.NOTE:
        print(f"carry on with: warroom resume {info.id} --headless")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    with JournalReader(args.journal) as reader:
        info = reader.resolve(args.incident)
        if not args.headless:
            from warroom.tui.launch import replay_console

            return replay_console(args.journal, info.id, args.speed)
        reducer = Reducer()
        for event in reader.events(info.id):
            reducer.apply(event)
            print(event_line(event, reducer.state.runbook, reducer.state.started_mono))
    return EXIT_OK
