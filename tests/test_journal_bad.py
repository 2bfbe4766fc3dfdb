"""Bad journals get one clear line on stderr and exit 1, never a traceback."""

from __future__ import annotations

import argparse
import sqlite3

import pytest
from journal_support import write_web_incident

from warroom.cli.journal_commands import cmd_export, cmd_list, cmd_report, cmd_verify

COMMANDS = [cmd_list, cmd_export, cmd_verify, cmd_report]


def args(path, incident=None):
    return argparse.Namespace(journal=str(path), incident=incident, format="jsonl",
                              output=None, json=False)


def run_all(path, capsys, incident=None) -> list[str]:
    errors = []
    for command in COMMANDS if incident is None else COMMANDS[1:]:
        assert command(args(path, incident)) == 1, command.__name__
        captured = capsys.readouterr()
        assert captured.err.startswith("warroom: ") and captured.err.count("\n") == 1
        assert "Traceback" not in captured.err
        errors.append(captured.err)
    return errors


async def test_truncated_journal(tmp_path, capsys):
    path = tmp_path / "j.db"
    await write_web_incident(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert all("damaged or truncated" in e for e in run_all(path, capsys))


@pytest.mark.parametrize(("content", "message"), [
    (b"", "the file is empty"),
    (b"incident,step\nweb,restart\n", "not an SQLite database"),
    (b"SQLite format 3\x00\x10\x00", "truncated"),
])
def test_files_that_are_not_journals(tmp_path, capsys, content, message):
    path = tmp_path / "j.db"
    path.write_bytes(content)
    assert all(message in e for e in run_all(path, capsys))


def test_a_database_of_another_program(tmp_path, capsys):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER, what TEXT)")
    conn.commit()
    conn.close()
    assert all("another program" in e for e in run_all(path, capsys))


def test_a_missing_journal(tmp_path, capsys):
    assert all("no journal here" in e for e in run_all(tmp_path / "none.db", capsys))


async def test_an_unknown_incident(tmp_path, capsys):
    path = tmp_path / "j.db"
    await write_web_incident(path)
    errors = run_all(path, capsys, incident="db-outage-20990101-000000")
    assert all("no incident 'db-outage-20990101-000000'" in e for e in errors)


async def test_a_writer_refuses_a_foreign_file(tmp_path):
    from warroom.journal import JournalError, JournalWriter

    path = tmp_path / "notes.txt"
    path.write_text("meeting notes\n")
    with pytest.raises(JournalError, match="not an SQLite database"):
        await JournalWriter.open(path)
    assert path.read_text() == "meeting notes\n"
