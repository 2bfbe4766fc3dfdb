"""Tamper evidence: any change, deletion, insertion or reordering of a row makes verify fail
and name the first bad seq."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from journal_support import write_web_incident

from warroom.journal import JournalReader
from warroom.journal.chain import body_json, row_hash
from warroom.cli.journal_commands import cmd_verify

TEXT_COLUMNS = ("incident", "actor", "type", "step", "data", "prev_hash", "hash")
COLUMNS = ("seq", "ts", "mono") + TEXT_COLUMNS


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("chain") / "pristine.db"
    inc = asyncio.run(write_web_incident(path))
    return path, inc


def copy(pristine, tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "j.db"
    shutil.copy(pristine[0], path)
    return path


def all_sound(path) -> list:
    with JournalReader(path) as reader:
        return [r for r in reader.verify_all() if not r.sound]


def args(path, incident=None):
    return argparse.Namespace(journal=str(path), incident=incident, format=None, output=None,
                              json=False)


def tamper(value, position: int, replacement: str):
    if isinstance(value, float):
        text = repr(value)
        i = position % len(text)
        changed = text[:i] + replacement + text[i + 1:]
        try:
            return float(changed)
        except ValueError:
            return changed
    if value is None:
        return replacement
    i = position % len(value)
    return value[:i] + replacement + value[i + 1:]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 40), column=st.sampled_from(COLUMNS), position=st.integers(0, 10_000),
       replacement=st.characters(codec="utf-8", exclude_categories=("Cs",)))
def test_changing_any_byte_of_any_row_fails_verify(pristine, tmp_path_factory, row, column,
                                                  position, replacement):
    path = copy(pristine, tmp_path_factory)
    conn = sqlite3.connect(path)
    seqs = [r[0] for r in conn.execute("SELECT seq FROM events ORDER BY seq")]
    seq = seqs[row % len(seqs)]
    old = conn.execute(f"SELECT {column} FROM events WHERE seq = ?", (seq,)).fetchone()[0]
    new = seqs[-1] + 1 + position if column == "seq" else tamper(old, position, replacement)
    assume(new != old)
    conn.execute(f"UPDATE events SET {column} = ? WHERE seq = ?", (new, seq))
    conn.commit()
    conn.close()
    bad = all_sound(path)
    assert bad, f"{column} of seq {seq} changed from {old!r} to {new!r} unnoticed"
    if column not in ("seq", "incident"):
        assert bad[0].bad_seq == seq


def _exec(path, *statements):
    conn = sqlite3.connect(path)
    for sql, params in statements:
        conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_sound_journal_verifies(pristine, capsys):
    assert cmd_verify(args(pristine[0])) == 0
    assert f"incident {pristine[1]}: 24 events, hash chain sound" in capsys.readouterr().out


def test_deleting_a_row_names_the_next_one(pristine, tmp_path_factory, capsys):
    path = copy(pristine, tmp_path_factory)
    _exec(path, ("DELETE FROM events WHERE seq = 5", ()))
    assert cmd_verify(args(path)) == 1
    err = capsys.readouterr().err
    assert err.startswith("warroom: ") and "altered at seq 6" in err and err.count("\n") == 1


def test_deleting_the_last_row_is_noticed(pristine, tmp_path_factory):
    path = copy(pristine, tmp_path_factory)
    _exec(path, ("DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)", ()))
    assert all_sound(path)[0].bad_seq == 24


def test_swapping_two_rows_names_the_first(pristine, tmp_path_factory):
    path = copy(pristine, tmp_path_factory)
    conn = sqlite3.connect(path)
    cols = "incident, ts, mono, actor, type, step, data, prev_hash, hash"
    a = conn.execute(f"SELECT {cols} FROM events WHERE seq = 8").fetchone()
    b = conn.execute(f"SELECT {cols} FROM events WHERE seq = 9").fetchone()
    sets = ", ".join(f"{c.strip()} = ?" for c in cols.split(","))
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 8", b)
    conn.execute(f"UPDATE events SET {sets} WHERE seq = 9", a)
    conn.commit()
    conn.close()
    assert all_sound(path)[0].bad_seq == 8


def test_appending_a_well_chained_forged_row_is_noticed(pristine, tmp_path_factory):
    path = copy(pristine, tmp_path_factory)
    inc = pristine[1]
    conn = sqlite3.connect(path)
    head = conn.execute("SELECT hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()[0]
    data = '{"text":"all fine"}'
    forged = row_hash(head, body_json(25, inc, 1.0, 99.0, "mallory", "note.added", None, data))
    conn.execute("INSERT INTO events VALUES (25, ?, 1.0, 99.0, 'mallory', 'note.added', NULL, ?, ?, ?)",
                 (inc, data, head, forged))
    conn.commit()
    conn.close()
    assert all_sound(path)[0].bad_seq == 25


def test_verify_of_an_unknown_incident_is_one_line(pristine, capsys):
    assert cmd_verify(args(pristine[0], "nope-1")) == 1
    assert capsys.readouterr().err.startswith("warroom: ")
