"""The audit trail in the forms people take away: JSONL for scripts, CSV for spreadsheets,
and Markdown for the postmortem.

Exports read rows through the reader and state through the reducer; they never recompute
anything on their own. Writing to a file refuses symlinks and anything but a regular file,
so an export cannot be steered into overwriting another file.
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from warroom.journal.chain import ChainReport, Row, row_json
from warroom.journal.errors import JournalError
from warroom.journal.events import Event
from warroom.journal.report import report
from warroom.journal.state import IncidentState
from warroom.journal.text import spreadsheet_safe, visible
from warroom.journal.timeline import what
from warroom.runbook.durations import format_duration
from warroom.runbook.model import canonical_json

FORMATS = ("jsonl", "csv", "md")
CSV_COLUMNS = ("seq", "incident", "time", "ts", "mono", "actor", "type", "step", "data",
               "prev_hash", "hash")


def iso(ts: float | None) -> str:
    """UTC wall-clock time, second precision, the way the exports print it."""
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


BATCH = 1000
"""Rows written at a time: one write call per row costs more than the row."""


def _damaged(path: Path, row: Row) -> JournalError:
    return JournalError(f"{path}: row seq {row[0]} is damaged (data is not JSON); run warroom verify")


def _exportable(data: object) -> bool:
    """Whether a row's data text can be exported as stored: one JSON object on one line
    (anything else was damaged after it was written; verify names the row)."""
    return isinstance(data, str) and data[:1] == "{" and data[-1:] == "}" and "\n" not in data


def jsonl_lines(path: Path, rows: Iterable[Row]) -> Iterator[str]:
    batch: list[str] = []
    for row in rows:
        if not _exportable(row[7]):
            raise _damaged(path, row)
        batch.append(row_json(row))
        if len(batch) == BATCH:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


_NEEDS_QUOTES = re.compile(r'[",\r\n]')


def _csv_cell(cell: str) -> str:
    """A cell as csv.writer (QUOTE_MINIMAL) writes it: building the line by hand costs a
    third of what the writer does per row."""
    return f'"{cell.replace(chr(34), chr(34) * 2)}"' if _NEEDS_QUOTES.search(cell) else cell


class _Names(dict[str, str]):
    """Name cells (incident, actor, type, step) made safe once each: a journal holds few."""

    def __missing__(self, name: str) -> str:
        cell = self[name] = _csv_cell(spreadsheet_safe(name))
        return cell


def csv_lines(path: Path, rows: Iterable[Row]) -> Iterator[str]:
    """One row per event; text cells a spreadsheet would run as a formula start with `'`
    (numbers, JSON data and hashes cannot start like one)."""
    batch = [",".join(CSV_COLUMNS)]
    times: dict[int, str] = {}  # rows come many to a second
    names = _Names()
    for row in rows:
        seq, incident, ts, mono, actor, type_, step, data, prev_hash, hash_ = row
        if not _exportable(data):
            raise _damaged(path, row)
        second = int(ts // 1)
        shown = times.get(second)
        if shown is None:
            shown = times[second] = iso(second)
        batch.append(f"{seq},{names[incident]},{shown},{ts!r},{mono!r},{names[actor]},{names[type_]},"
                     f"{names[step or '']},{_csv_cell(data)},{prev_hash},{hash_}")
        if len(batch) >= BATCH:
            yield "\n".join(batch) + "\n"
            batch = []
    if batch:
        yield "\n".join(batch) + "\n"


def _cell(value: Any) -> str:
    """Plain text in a Markdown table cell: no pipes, no line breaks, no HTML, no controls."""
    text = visible(value if isinstance(value, str) else canonical_json(value))
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")


def markdown(state: IncidentState, events: Iterable[Event], chain: ChainReport) -> str:
    """A postmortem-ready timeline: summary, timeline with actors, steps, approvals, claims,
    notes, escalations, and the hash that proves the record."""
    figures = report(state)
    runbook = state.runbook
    title = runbook.title if runbook and runbook.title else figures["runbook"]
    start = state.started_mono or 0.0
    out = [
        f"# Incident {state.incident}: {_cell(title)}",
        "",
        "## Summary",
        "",
        f"- Runbook: `{figures['runbook']}` (sha256 `{state.runbook_sha256}`)",
        f"- Started: {iso(state.started_ts)} by {_cell(state.starter)}"
        + (" (drill)" if state.drill else ""),
        f"- Ended: {iso(state.ended_ts)}",
        f"- Result: **{figures['result']}**",
        f"- Time to recover: {format_duration(figures['mttr_s'])}; idle "
        f"{format_duration(figures['idle_s'])}; as parallel as the graph allows "
        f"{format_duration(figures['parallel_s'])}",
        f"- Critical path: {' -> '.join(figures['critical_path']) or '-'}",
        "",
        "## Timeline",
        "",
        "| seq | time | elapsed | actor | event | step | details |",
        "|---:|---|---:|---|---|---|---|",
    ]
    outputs = 0
    for event in events:
        if event.type == "step.output":
            outputs += 1
            continue
        out.append(
            f"| {event.seq} | {iso(event.ts)} | {format_duration(event.mono - start)} | "
            f"{_cell(event.actor)} | {event.type} | {_cell(event.step or '')} | "
            f"{_cell(what(event))} |"
        )
    out += ["", f"{outputs} output lines are in the JSONL and CSV exports.", "",
            "## Steps", "",
            "| step | status | attempts | took | waited | exit | output lines | note |",
            "|---|---|---:|---:|---:|---:|---:|---|"]
    for s in state.steps.values():
        exit_code = "" if s.exit_code is None else str(s.exit_code)
        out.append(f"| {_cell(s.id)} | {s.status.value} | {s.attempts} | "
                   f"{format_duration(s.duration_s)} | {format_duration(s.wait_s)} | "
                   f"{exit_code} | {s.output_lines} | {_cell(s.last_reason)} |")
    out += ["", "## Approvals", ""]
    out += [f"- `{_cell(a.step)}`: {a.decision or 'pending'} by {_cell(a.by or '-')} at "
            f"{iso(a.decided_at)}: {_cell(a.reason or '-')} (asked: {_cell(a.question)})"
            for a in state.approvals.values()] or ["None."]
    out += ["", "## Claims", ""]
    out += [f"- {iso(c.ts)} `{_cell(c.resource)}` {c.action} by {_cell(c.by)}: "
            f"{_cell(c.reason or '-')}" for c in state.claim_history] or ["None."]
    out += ["", "## Notes", ""]
    out += [f"- {iso(n.ts)} {_cell(n.actor)}: {_cell(n.text)}" for n in state.notes] or ["None."]
    out += ["", "## Escalations", ""]
    out += [f"- {iso(e.ts)} to {_cell(e.to)} by {_cell(e.actor)}: {_cell(e.reason)}"
            for e in state.escalations] or ["None."]
    verdict = "sound" if chain.sound else f"BROKEN at seq {chain.bad_seq}: {chain.problem}"
    out += ["", "## Verification", "",
            f"- Events: {chain.events}; hash chain {verdict}",
            f"- Last hash: `{chain.head}`",
            f"- Check it: `warroom verify {state.incident} --expect {chain.head}`", ""]
    return "\n".join(out)


def write_file(path: str | os.PathLike[str], chunks: Iterable[str]) -> None:
    """Writes exactly `path`: never through a symlink, never into a non-regular file."""
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise JournalError(f"{target}: cannot write the export: {exc.strerror}") from None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise JournalError(f"{target}: is a symbolic link; refusing to write through it")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise JournalError(f"{target}: not a regular file; refusing to write to it")
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise JournalError(f"{target}: cannot write the export: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)
