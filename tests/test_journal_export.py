"""Exports against golden files (regenerate with WARROOM_UPDATE_GOLDEN=1 after a deliberate
change), the -o safety rules, list, and the report's figures worked out by hand."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
from journal_support import write_web_incident

from warroom.journal import JournalReader
from warroom.cli.journal_commands import cmd_export, cmd_list, cmd_report

GOLDEN = Path(__file__).parent / "golden"


def args(path, **kw):
    base = {"journal": str(path), "incident": None, "format": "jsonl", "output": None,
            "json": False}
    return argparse.Namespace(**{**base, **kw})


@pytest.fixture
async def journal(tmp_path):
    path = tmp_path / "j.db"
    await write_web_incident(path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "md"])
def test_export_matches_golden(journal, tmp_path, fmt):
    out = tmp_path / f"export.{fmt}"
    assert cmd_export(args(journal, format=fmt, output=str(out))) == 0
    golden = GOLDEN / f"journal_web_incident.{fmt}"
    if os.environ.get("WARROOM_UPDATE_GOLDEN"):
        golden.write_text(out.read_text())
    assert out.read_text() == golden.read_text()


def test_jsonl_rows_are_the_journal(journal, capsys):
    assert cmd_export(args(journal)) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with JournalReader(journal) as reader:
        assert rows == [e.to_dict() for e in reader.events(reader.resolve(None).id)]


def test_export_refuses_to_follow_a_symlink(journal, tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "out.md"
    link.symlink_to(victim)
    assert cmd_export(args(journal, format="md", output=str(link))) == 1
    assert "symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "keep me"


def test_export_refuses_a_directory_and_a_missing_parent(journal, tmp_path, capsys):
    assert cmd_export(args(journal, output=str(tmp_path))) == 1
    assert cmd_export(args(journal, output=str(tmp_path / "no" / "x.jsonl"))) == 1
    err = capsys.readouterr().err
    assert "not a regular file" in err and "cannot write the export" in err
    assert not (tmp_path / "no").exists()


def test_list_shows_each_incident(journal, capsys):
    assert cmd_list(args(journal)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["web-outage-20231114-221320", "web-outage", "2023-11-14T22:13:20Z",
                              "26s", "succeeded"]


def test_report_figures(journal, capsys):
    assert cmd_report(args(journal, json=True)) == 0
    data = json.loads(capsys.readouterr().out)
    steps = {s["id"]: s for s in data["steps"]}
    assert data["result"] == "succeeded" and data["mttr_s"] == 26.0
    # probe 1-3, purge 3-5 and 10-14, restart 12-20, verify 22-25: nothing runs 0-1, 5-10, 20-22
    assert data["idle_s"] == 1 + 5 + 2 + 1
    assert steps["purge"] == {"id": "purge", "status": "succeeded", "duration_s": 11.0,
                              "wait_s": 0.0, "attempts": 2}
    assert steps["restart"]["wait_s"] == 4.0
    assert steps["approve"]["duration_s"] == 7.0
    # approve (7) -> restart (8) -> verify (3) is the longest chain of actual durations
    assert data["critical_path"] == ["approve", "restart", "verify"]
    # as parallel as the graph allows: probe and approve start at 0; restart at 7, verify at 15
    assert data["parallel_s"] == 18.0
    assert cmd_report(args(journal)) == 0
    assert "would have saved 8s" in capsys.readouterr().out


def test_jsonl_lines_are_each_events_canonical_json(journal, capsys):
    """Export builds each line from the stored row, never re-encoding it: the text must be the
    event's canonical JSON, whatever its text holds."""
    from warroom.cli import main
    from warroom.runbook.model import canonical_json

    assert main(["note", 'café ☃ "quoted" \\ back\tslash \x1b[31m', "--as", "zoë", "--journal", str(journal)]) == 0
    capsys.readouterr()
    assert cmd_export(args(journal)) == 0
    lines = capsys.readouterr().out.splitlines()
    with JournalReader(journal) as reader:
        assert lines == [canonical_json(e.to_dict()) for e in reader.events(reader.resolve(None).id)]


def test_csv_rows_read_back_as_the_journal_whatever_a_name_holds(journal, capsys):
    """The CSV is built by hand for speed: read back by the csv module, every cell is the
    journal's, for names with commas, quotes, line breaks and formula starts."""
    import csv
    import io

    from warroom.cli import main

    for actor in ('o"brien, ops', "line\nbreak", "cr\rhere", "=HYPERLINK(x)", ""):
        assert main(["note", f"from {actor!r}", "--as", actor or "nobody", "--journal", str(journal)]) == 0
    capsys.readouterr()
    assert cmd_export(args(journal, format="csv")) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    with JournalReader(journal) as reader:
        events = list(reader.events(reader.resolve(None).id))
    assert len(rows) == len(events) + 1
    for row, event in zip(rows[1:], events):
        assert int(row[0]) == event.seq and json.loads(row[8]) == event.data and row[10] == event.hash
        assert row[5] == (f"'{event.actor}" if event.actor.startswith(("=", "+", "-", "@")) else event.actor)
        assert row[7] == (event.step or "")
