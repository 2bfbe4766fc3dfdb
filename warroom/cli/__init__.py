"""The door: subcommands, argument parsing, exit codes and error printing.

Only argparse is imported at start-up; each handler imports what it needs, so `warroom --help`
and shell completion stay instant even though the console pulls in Textual.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from warroom.cli.output import say
from warroom.engine.outcome import ExitCode
from warroom.runbook.errors import VarError

DEFAULT_JOURNAL = "warroom.db"

def _print_problems(problems: Sequence[object]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


# handlers ------------------------------------------------------------------------------------
def _cmd_validate(args: argparse.Namespace) -> int:
    from warroom.runbook.errors import RunbookError
    from warroom.runbook.loader import load_runbook

    failed = False
    for path in args.runbooks:
        try:
            runbook = load_runbook(path)
        except RunbookError as exc:
            _print_problems(exc.problems)
            failed = True
            continue
        print(f"{path}: ok ({len(runbook.steps)} steps, {runbook.model.value})")
    return ExitCode.FAILED if failed else ExitCode.OK


def _cmd_plan(args: argparse.Namespace) -> int:
    import json

    from warroom.runbook.loader import load_runbook, parse_var_pairs
    from warroom.runbook.plan import build_plan, render_plan

    plan = build_plan(load_runbook(args.runbook, parse_var_pairs(args.var)))
    if args.json:
        print(json.dumps(plan.to_json(), indent=2))
    else:
        print(render_plan(plan))
    return ExitCode.OK


def _cmd_checklist(args: argparse.Namespace) -> int:
    from warroom.runbook.checklist import QUESTIONS, ask, render

    given = {q.key: getattr(args, q.key) == "yes" for q in QUESTIONS if getattr(args, q.key) is not None}

    def read_line(prompt: str) -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    try:
        verdict = ask(read_line, lambda text: print(text), given)
    except EOFError:
        missing = [f"--{q.key.replace('_', '-')}" for q in QUESTIONS if q.key not in given]
        say(f"input ended before every question was answered; pass {' '.join(missing)} yes|no")
        return ExitCode.USAGE
    print(render(verdict))
    return ExitCode.OK


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from warroom.runbook.spec import json_schema

    print(json.dumps(json_schema(), indent=2))
    return ExitCode.OK


def _journal_handler(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from warroom.cli import journal_commands

        return int(getattr(journal_commands, f"cmd_{name}")(args))

    return handler


def _engine_handler(name: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        from warroom.cli import run_commands

        return int(getattr(run_commands, f"cmd_{name}")(args))

    return handler


# parser --------------------------------------------------------------------------------------
def _add_journal(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--journal",
        metavar="PATH",
        default=os.environ.get("WARROOM_JOURNAL", DEFAULT_JOURNAL),
        help="the journal file (default: $WARROOM_JOURNAL or ./warroom.db)",
    )


def _add_actor(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--as",
        dest="actor",
        metavar="NAME",
        default=None,
        help="who is acting, for the journal (default: $WARROOM_USER or your login name)",
    )


def _add_incident(p: argparse.ArgumentParser, *, positional: bool) -> None:
    if positional:
        p.add_argument("incident", nargs="?", metavar="INCIDENT", help="incident id (default: the latest)")
    else:
        p.add_argument("--incident", metavar="ID", help="incident id (default: the latest)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warroom",
        description="A terminal war-room console for incident recovery: plan, run, journal, "
        "resume, replay and drill runbooks.",
        epilog="Run `warroom COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version="warroom 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, help_text: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("validate", "check runbooks; every problem as file:line:col: message (exit 1 if any)", _cmd_validate)
    p.add_argument("runbooks", nargs="+", metavar="RUNBOOK")

    p = command("plan", "levels, critical path, linear vs parallel estimate and lock conflicts of a runbook", _cmd_plan)
    p.add_argument("runbook", metavar="RUNBOOK")
    p.add_argument("--json", action="store_true", help="machine-readable plan")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a runbook var")

    p = command("run", "start an incident: run a runbook in the console (or --headless), journaling every event", _engine_handler("run"))
    p.add_argument("runbook", metavar="RUNBOOK")
    p.add_argument("--headless", action="store_true", help="no console: print one line per event")
    p.add_argument("--drill", action="store_true", help="a drill: no real command runs; simulated outcomes on a virtual clock")
    p.add_argument("--seed", type=int, default=0, help="drill: random seed, so a drill repeats exactly")
    p.add_argument("--speed", default="1", metavar="N|max", help="drill: virtual clock speed (default 1; max finishes at once)")
    p.add_argument("--inject", metavar="FILE", help="drill: a YAML list of injects ({at: 5m, fail: step}, ...)")
    p.add_argument("--auto", action="store_true", help="grant approvals and mark manual steps done automatically (journaled as auto)")
    p.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="override a runbook var")
    _add_actor(p)
    _add_journal(p)

    p = command("resume", "carry an interrupted incident on from its journal; nothing re-run that must not be", _engine_handler("resume"))
    _add_incident(p, positional=True)
    p.add_argument("--headless", action="store_true", help="no console: print one line per event")
    p.add_argument("--auto", action="store_true", help="grant approvals and mark manual steps done automatically")
    _add_actor(p)
    _add_journal(p)

    p = command("replay", "watch a past incident again, read-only", _engine_handler("replay"))
    _add_incident(p, positional=True)
    p.add_argument("--speed", default="1", metavar="N", help="replay speed (default 1)")
    p.add_argument("--headless", action="store_true", help="print the timeline, one line per event")
    _add_journal(p)

    p = command("list", "the incidents in the journal", _journal_handler("list"))
    _add_journal(p)

    p = command("export", "write an incident's audit trail as jsonl, csv or a markdown timeline", _journal_handler("export"))
    _add_incident(p, positional=True)
    p.add_argument("--format", choices=("jsonl", "csv", "md"), required=True)
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (never follows a symlink) instead of stdout")
    _add_journal(p)

    p = command("verify", "prove the journal was not altered: the file, every incident (or the one named) and its index (exit 1 names each first bad row)", _journal_handler("verify"))
    _add_incident(p, positional=True)
    p.add_argument("--expect", metavar="HASH", help="fail unless this pinned head hash is in the chain")
    _add_journal(p)

    p = command("report", "timings, critical path, idle time, what parallelism would have saved, and the review", _journal_handler("report"))
    _add_incident(p, positional=True)
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two incidents (two drills of a runbook) side by side")
    p.add_argument("--runbook", metavar="NAME", help="every incident of a runbook: MTTR mean, median, p90, what fails most")
    _add_journal(p)

    from_checklist = command("checklist", "the decision checklist: should this recovery be sequential, hybrid or parallel?", _cmd_checklist)
    for flag, what in (
        ("team-size", "3+ people to take distinct roles"),
        ("interdependence", "most recovery actions are independent"),
        ("tooling", "automation and monitoring support concurrent execution"),
        ("criticality", "business-critical, high cost per minute"),
        ("experience", "the team has drilled parallel workflows"),
        ("regulatory", "regulations mandate a strict audit trail"),
    ):
        from_checklist.add_argument(f"--{flag}", choices=("yes", "no"), help=what)

    command("schema", "print the JSON Schema of the runbook format, for editors", _cmd_schema)

    operator = (
        ("approve", "approve an approval step", True),
        ("reject", "reject an approval step", True),
        ("done", "mark a manual step (or an in-doubt step) done", True),
        ("fail", "mark a manual step failed", True),
        ("retry", "run a failed or in-doubt step again", True),
        ("skip", "skip a step (its dependents go on)", True),
        ("undo", "run a completed step's undo", True),
        ("claim", "claim a resource: steps needing it wait until it is released", False),
        ("release", "release a claimed resource", False),
    )
    for name, help_text, takes_step in operator:
        p = command(name, help_text + " (operator command)", _engine_handler("operator"))
        p.add_argument("target", metavar="STEP" if takes_step else "RESOURCE")
        p.add_argument("--reason", default="", metavar="TEXT", help="why; journaled with your name")
        if name == "claim":
            p.add_argument("--force", action="store_true", help="claim a resource the runbook never names")
        _add_incident(p, positional=False)
        _add_actor(p)
        _add_journal(p)
    p = command("abort", "end the incident for good: running steps are stopped, nothing else starts (operator command)",
                _engine_handler("operator"))
    p.add_argument("--reason", default="", metavar="TEXT", help="why; journaled with your name")
    _add_incident(p, positional=False)
    _add_actor(p)
    _add_journal(p)
    p = command("note", "add a note to the incident's record (operator command)", _engine_handler("operator"))
    p.add_argument("target", metavar="TEXT")
    _add_incident(p, positional=False)
    _add_actor(p)
    _add_journal(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "actor", "unset") is None:
        import getpass

        args.actor = os.environ.get("WARROOM_USER") or getpass.getuser()
    try:
        return int(args.handler(args))
    except VarError as exc:
        say(str(exc))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - the one place that turns known errors into one line
        from warroom.cli.output import user_message

        message = user_message(exc)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return ExitCode.FAILED
