"""The journal's subcommands (list, export, verify, report), wired in by the parser.

Each takes the parsed arguments and returns an exit code; a journal problem becomes one line
on stderr (`warroom: <message>`), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from warroom.cli.output import say
from warroom.engine.outcome import ExitCode
from warroom.journal.analysis import compare, render_runbook_summary, runbook_summary
from warroom.journal.errors import JournalError
from warroom.journal.export import FORMATS, csv_lines, iso, jsonl_lines, markdown, write_file
from warroom.journal.report import render_report, report, so_far
from warroom.journal.files import writer_alive
from warroom.journal.reader import JournalReader
from warroom.journal.state import IncidentState, RunResult
from warroom.journal.verify import verify_journal
from warroom.runbook.durations import format_duration

__all__ = ["JournalError", "cmd_export", "cmd_list", "cmd_report", "cmd_verify", "warn_if_behind"]


def _guarded(body: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return body(args)
        except JournalError as exc:
            say(str(exc))
            return ExitCode.FAILED
        except BrokenPipeError:
            return 0
    run.__name__, run.__doc__ = body.__name__, body.__doc__
    return run


def warn_if_behind(reader: JournalReader) -> None:
    """Warns on stderr when the journal holds less than `<db>.head` recorded (list, resume)."""
    for warning in reader.anchor_warnings():
        say(f"warning: {warning}")


def _incident(args: argparse.Namespace) -> str | None:
    return getattr(args, "incident", None)


_SHOWN = {RunResult.INTERRUPTED.value: "interrupted?"}


def _at_rest(state: IncidentState) -> RunResult:
    """A run still `running` in the journal that no process writes was cut short with no
    word (a crash, a kill -9, a lost machine): it is shown as interrupted."""
    return RunResult.INTERRUPTED if state.result is RunResult.RUNNING else state.result


@_guarded
def cmd_list(args: argparse.Namespace) -> int:
    """Incidents in the journal: id, runbook, started, duration, result. A run with no end
    that no live process is writing says `interrupted?` (a crash, a kill): resume it."""
    with JournalReader(args.journal) as reader:
        warn_if_behind(reader)
        rows: list[dict[str, Any]] = []
        incidents = reader.incidents()
        live = max(incidents, key=lambda i: i.last_seq).id if incidents and writer_alive(Path(args.journal)) else None
        for info in incidents:
            state = reader.state(info.id)
            result = state.result if info.id == live else _at_rest(state)
            rows.append({"incident": info.id, "runbook": info.runbook,
                         "started": iso(info.started_ts), "duration_s": state.duration_s,
                         "result": result.value, "events": info.events})
    if getattr(args, "json", False):
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no incidents in {args.journal}")
        return 0
    width = max(len(r["incident"]) for r in rows)
    rb_width = max(len(r["runbook"]) for r in rows)
    print(f"{'incident':<{width}}  {'runbook':<{rb_width}}  {'started':<20}  "
          f"{'duration':>8}  result")
    for r in rows:
        print(f"{r['incident']:<{width}}  {r['runbook']:<{rb_width}}  {r['started']:<20}  "
              f"{format_duration(r['duration_s']):>8}  {_SHOWN.get(r['result'], r['result'])}")
    return 0


@_guarded
def cmd_export(args: argparse.Namespace) -> int:
    """The audit trail of one incident as jsonl, csv or a Markdown postmortem."""
    fmt = getattr(args, "format", None) or "jsonl"
    if fmt not in FORMATS:
        raise JournalError(f"unknown export format {fmt!r} (choose {', '.join(FORMATS)})")
    with JournalReader(args.journal) as reader:
        incident = reader.resolve(_incident(args)).id
        chunks: Iterator[str]
        if fmt == "md":
            chain = reader.verify(incident)
            chunks = iter([markdown(reader.state(incident), reader.events(incident), chain)])
        elif fmt == "csv":
            chunks = csv_lines(reader.path, reader.rows(incident))
        else:
            chunks = jsonl_lines(reader.path, reader.rows(incident))
        output = getattr(args, "output", None)
        if output and output != "-":
            write_file(output, chunks)
        else:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.flush()
    return 0


@_guarded
def cmd_verify(args: argparse.Namespace) -> int:
    """Checks the file, then every incident's chain against the index (only the one named,
    when named); exit 1 naming each first bad row. --expect HASH: the pinned head must be in
    the chain."""
    with JournalReader(args.journal) as reader:
        sound, problems = verify_journal(reader, _incident(args), getattr(args, "expect", None))
    for line in sound:
        print(line)
    for problem in problems:
        print(f"warroom: {problem}", file=sys.stderr)
    return 1 if problems else 0


@_guarded
def cmd_report(args: argparse.Namespace) -> int:
    """Timings, critical path, idle time, the parallel counterfactual and the review of one
    incident; or two side by side (--compare A B); or every incident of a runbook (--runbook)."""
    compared = getattr(args, "compare", None)
    runbook_id = getattr(args, "runbook", None)
    with JournalReader(args.journal) as reader:
        if runbook_id:
            states = [reader.state(i.id) for i in reader.incidents() if i.runbook == runbook_id]
            if not states:
                known = ", ".join(sorted({i.runbook for i in reader.incidents()})) or "none"
                raise JournalError(f"no incident of runbook {runbook_id!r} in {args.journal} (runbooks: {known})")
            data = runbook_summary(runbook_id, states)
            text = render_runbook_summary(data)
        elif compared:
            first, second = (report(so_far(reader.state(i), time.time())) for i in compared)
            data = {"a": first, "b": second}
            text = compare(first, second)
        else:
            data = report(so_far(reader.state(_incident(args)), time.time()))
            text = render_report(data)
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2))
    else:
        sys.stdout.write(text)
    return 0
