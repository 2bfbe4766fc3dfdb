"""verify checks every incident, the index and the file; anchors held outside the journal (a
pinned head, a key, `<db>.head`) catch what a chain inside one file cannot."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from journal_support import T0, ev, web_runbook, write_web_incident

from warroom.journal import EventType as E
from warroom.journal import JournalError, JournalReader, JournalWriter
from warroom.journal.anchors import head_path
from warroom.journal.chain import KEY_ENV, body_json, encode_data, row_hash
from warroom.cli.journal_commands import cmd_list, cmd_verify

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


def args(path, incident=None, expect=None):
    return argparse.Namespace(journal=str(path), incident=incident, expect=expect, json=False)


async def two_incidents(path: Path) -> list[str]:
    first = await write_web_incident(path)
    second = await write_web_incident(path)
    return [first, second]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    path = tmp_path_factory.mktemp("verify") / "pristine.db"
    return path, asyncio.run(two_incidents(path))


def copy(pristine, tmp_path) -> Path:
    path = tmp_path / "j.db"
    shutil.copy(pristine[0], path)
    return path


def sql(path, *statements):
    conn = sqlite3.connect(path)
    for statement, params in statements:
        conn.execute(statement, params)
    conn.commit()
    conn.close()


def verify(path, capsys, **kw) -> tuple[int, str, str]:
    code = cmd_verify(args(path, **kw))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_verify_checks_every_incident_not_only_the_latest(pristine, tmp_path, capsys):
    path = copy(pristine, tmp_path)
    older = pristine[1][0]
    sql(path, ("UPDATE events SET actor = 'mallory' WHERE seq = 3", ()))
    code, out, err = verify(path, capsys)
    assert code == 1 and f"incident {older}: journal altered at seq 3" in err
    assert f"incident {pristine[1][1]}: 24 events, hash chain sound (sha256)" in out
    assert verify(path, capsys, incident=pristine[1][1])[0] == 0


@pytest.mark.parametrize(("column", "value", "message"), [
    ("runbook", "db-outage", "names runbook 'db-outage'"),
    ("started_ts", T0 + 60, "start time differs"),
    ("events", 23, "counts 23 events"),
    ("first_seq", 2, "begins at seq 2"),
])
def test_verify_cross_checks_the_index(pristine, tmp_path, capsys, column, value, message):
    path = copy(pristine, tmp_path)
    sql(path, (f"UPDATE incidents SET {column} = ? WHERE id = ?", (value, pristine[1][0])))
    code, _, err = verify(path, capsys)
    assert code == 1 and message in err


def test_rows_of_an_unknown_incident_are_flagged(pristine, tmp_path, capsys):
    path = copy(pristine, tmp_path)
    sql(path, ("INSERT INTO events VALUES (99, 'ghost', 1.0, 1.0, 'm', 'note.added', NULL, '{}', "
               "'x', 'y')", ()))
    code, _, err = verify(path, capsys)
    assert code == 1 and "incident ghost: journal altered at seq 99" in err


def _mutations(conn: sqlite3.Connection, rng: random.Random) -> tuple[str, tuple]:
    """One random change to the content of the journal: any column of any row of either table,
    or a deleted row."""
    table = rng.choice(["events", "events", "incidents"])
    key = "seq" if table == "events" else "id"
    keys = [r[0] for r in conn.execute(f"SELECT {key} FROM {table}")]
    target = rng.choice(keys)
    if rng.random() < 0.1:
        return f"DELETE FROM {table} WHERE {key} = ?", (target,)
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    column = rng.choice(columns)
    old = conn.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (target,)).fetchone()[0]
    if isinstance(old, int):
        new: object = old + rng.choice([-1, 1, 1000])
    elif isinstance(old, float):
        new = old + rng.choice([-0.5, 0.001, 3600.0])
    elif old is None:
        new = "x"
    else:
        i = rng.randrange(len(old)) if old else 0
        new = old[:i] + rng.choice("0aZ\"}{ ") + old[i + 1:]
        if new == old:
            new = old + "0"
    return f"UPDATE OR IGNORE {table} SET {column} = ? WHERE {key} = ?", (new, target)


def test_random_content_corruptions_are_all_caught(pristine, tmp_path, capsys):
    rng = random.Random(20261201)
    for trial in range(120):
        path = tmp_path / f"t{trial}.db"
        shutil.copy(pristine[0], path)
        conn = sqlite3.connect(path)
        statement, params = _mutations(conn, rng)
        changed = conn.execute(statement, params).rowcount
        conn.commit()
        conn.close()
        if not changed:
            continue
        code, _, err = verify(path, capsys)
        assert code == 1, f"trial {trial}: {statement} {params} passed verify"
        path.unlink()


def test_a_corrupt_file_fails_the_integrity_check_and_is_not_appended_to(pristine, tmp_path, capsys):
    path = copy(pristine, tmp_path)
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = 'events_by_incident'").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:  # cells of the index's page (they fill it from its end)
        fh.seek(root * page_size - 40)
        fh.write(b"\x07" * 24)
    code, _, err = verify(path, capsys)
    assert code == 1 and ("integrity check" in err or "damaged" in err)
    with pytest.raises(JournalError, match="SQLite's check|damaged"):
        asyncio.run(JournalWriter.open(path, flush_interval=None))


async def test_resume_refuses_an_incident_whose_head_was_altered(pristine, tmp_path):
    path = copy(pristine, tmp_path)
    sql(path, ("UPDATE events SET data = '{\"text\":\"x\"}' WHERE seq = "
               "(SELECT last_seq FROM incidents WHERE id = ?)", (pristine[1][1],)))
    async with await JournalWriter.open(path, flush_interval=None) as w:
        with pytest.raises(JournalError, match="fails its check at its last row"):
            await w.resume_incident(pristine[1][1])
        await w.resume_incident(pristine[1][0])


async def _resume_with_note(path: Path, incident: str, text: str) -> None:
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.resume_incident(incident)
        await w.append([ev(E.NOTE_ADDED, 30, actor="bob", text=text)])


async def test_a_pinned_head_must_still_be_in_the_chain(pristine, tmp_path, capsys):
    path = copy(pristine, tmp_path)
    incident = pristine[1][1]
    with JournalReader(path) as reader:
        pinned = reader.resolve(incident).head_hash
    await _resume_with_note(path, incident, "later")
    code, out, _ = verify(path, capsys, expect=pinned)
    assert code == 0 and f"pinned head {pinned} is in incident {incident} at seq 48" in out
    # cut the tail back past the pin and make the index agree: the chain alone is sound again
    sql(path, ("DELETE FROM events WHERE seq >= 47", ()),
        ("UPDATE incidents SET last_seq = 46, events = 22, head_hash = "
         "(SELECT hash FROM events WHERE seq = 46) WHERE id = ?", (incident,)))
    assert verify(path, capsys)[0] == 0
    code, _, err = verify(path, capsys, incident=incident, expect=pinned)
    assert code == 1 and "is not in incident" in err


def test_exports_carry_the_head(pristine, capsys):
    from warroom.cli.journal_commands import cmd_export

    with JournalReader(pristine[0]) as reader:
        head = reader.resolve(None).head_hash
    for fmt in ("jsonl", "csv", "md"):
        assert cmd_export(argparse.Namespace(journal=str(pristine[0]), incident=None, format=fmt,
                                             output=None, json=False)) == 0
        assert head in capsys.readouterr().out.rstrip().splitlines()[-1]


async def test_a_keyed_journal_needs_its_key(tmp_path, capsys, monkeypatch):
    path = tmp_path / "k.db"
    monkeypatch.setenv(KEY_ENV, "correct horse")
    incident = await write_web_incident(path)
    code, out, _ = verify(path, capsys)
    assert code == 0 and "hash chain sound (hmac-sha256)" in out
    with JournalReader(path) as reader:
        rows = list(reader.rows(incident))
    assert "correct horse" not in rows[0][7]
    assert rows[1][9] != row_hash(rows[1][8], body_json(*rows[1][:8]))  # not plain sha256
    await _resume_with_note(path, incident, "keyed")
    monkeypatch.setenv(KEY_ENV, "wrong")
    code, _, err = verify(path, capsys)
    assert code == 1 and f"{KEY_ENV} is not the key incident {incident} was written with" in err
    monkeypatch.delenv(KEY_ENV)
    code, _, err = verify(path, capsys)
    assert code == 1 and f"is keyed (hmac-sha256): set {KEY_ENV}" in err
    with pytest.raises(JournalError, match="is keyed"):
        await _resume_with_note(path, incident, "no key")


async def test_without_the_key_an_edit_cannot_be_recomputed(tmp_path, capsys, monkeypatch):
    """The forger edits a note and recomputes the whole chain, as plain sha256 (keeping the
    mode, or dropping it from run.started): with the key at hand verify catches both."""
    monkeypatch.setenv(KEY_ENV, "correct horse")
    path = tmp_path / "k.db"
    incident = await write_web_incident(path)
    for drop_mode in (False, True):
        forged = tmp_path / f"forged{drop_mode}.db"
        shutil.copy(path, forged)
        conn = sqlite3.connect(forged)
        rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
        prev = "0" * 64
        for seq, inc, ts, mono, actor, type_, step, data, _, _ in rows:
            if type_ == "note.added":
                data = data.replace("vendor", "VENDOR")
            if drop_mode and type_ == "run.started":
                data = encode_data({k: v for k, v in json.loads(data).items() if k != "chain"})
            digest = row_hash(prev, body_json(seq, inc, ts, mono, actor, type_, step, data))
            conn.execute("UPDATE events SET data = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                         (data, prev, digest, seq))
            prev = digest
        conn.execute("UPDATE incidents SET head_hash = ? WHERE id = ?", (prev, incident))
        conn.commit()
        conn.close()
        code, _, err = verify(forged, capsys)
        assert code == 1, drop_mode
        assert ("written without a key" in err) if drop_mode else ("does not match its hash" in err)


LOSE_THE_WAL = textwrap.dedent("""
    import asyncio, os, sys
    import warroom.journal.store as store
    from warroom.journal import EventType, JournalWriter, NewEvent
    from warroom.journal.anchors import head_path, read_heads
    store.HEAD_EVERY_S = 0.0
    async def main():
        w = await JournalWriter.open(sys.argv[1], flush_interval=0.01)
        await w.resume_incident(sys.argv[2])
        await w.append([NewEvent(EventType.NOTE_ADDED, "bob", 1.7e9, 40.0, None, {"text": "x"})])
        seq = w._next_seq - 1
        while read_heads(w.path).get(sys.argv[2], (0, ""))[0] < seq:
            await asyncio.sleep(0.01)
        os._exit(9)  # a crash: the WAL still holds the note
    asyncio.run(main())
""")


async def test_list_and_resume_warn_when_the_journal_lost_its_tail(tmp_path, capsys):
    path = tmp_path / "c.db"
    incident = await write_web_incident(path)
    assert head_path(path).exists()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.run([sys.executable, "-c", LOSE_THE_WAL, str(path), incident],
                           capture_output=True, text=True, env=env, timeout=60)
    assert child.returncode == 9, child.stderr
    for side in ("-wal", "-shm"):
        Path(f"{path}{side}").unlink()
    assert cmd_list(argparse.Namespace(journal=str(path), json=False)) == 0
    out, err = capsys.readouterr()
    assert incident in out
    assert f"incident {incident} ends at seq 24, but {path}.head recorded it up to seq 25" in err
    resumed = subprocess.run([sys.executable, "-m", "warroom", "resume", incident, "--headless",
                              "--journal", str(path)], capture_output=True, text=True, env=env,
                             timeout=60)
    assert "recorded it up to seq 25" in resumed.stderr and "Traceback" not in resumed.stderr


async def test_a_fresh_journal_forgets_the_heads_of_the_one_it_replaces(tmp_path, capsys):
    path = tmp_path / "c.db"
    await write_web_incident(path)
    path.unlink()
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(web_runbook(), actor="alice", ts=T0 + 999, mono=0.0)
    assert cmd_list(argparse.Namespace(journal=str(path), json=False)) == 0
    assert capsys.readouterr().err == ""
