"""The writer and reader on real SQLite files: what is written reads back, in causal order,
privately, with one writer at a time."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat

import pytest
from hypothesis import given
from hypothesis import strategies as st
from journal_support import T0, ev, web_runbook, write_web_incident

from warroom.journal import EventType as E
from warroom.journal import JournalError, JournalLocked, JournalReader, JournalWriter
from warroom.journal.chain import GENESIS, body_json, row_json
from warroom.journal.events import Event
from warroom.runbook.model import Runbook, canonical_json


async def test_written_events_read_back_with_their_chain(tmp_path):
    path = tmp_path / "j.db"
    inc = await write_web_incident(path)
    with JournalReader(path) as reader:
        events = list(reader.events(inc))
        [info] = reader.incidents()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].type == "run.started" and events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert info.events == len(events) and info.head_hash == events[-1].hash
    assert Runbook.from_dict(events[0].data["runbook"]) == web_runbook()
    assert events[0].data["runbook_sha256"] == web_runbook().sha256()
    assert inc == "web-outage-20231114-221320"
    with JournalReader(path) as reader:
        assert all(canonical_json(json.loads(row[7])) == row[7] for row in reader.rows(inc))


async def test_append_returns_what_the_reader_sees(tmp_path):
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0)
        stored = await w.append([ev(E.NOTE_ADDED, 1.5, actor="bob", text="hé | ünïcode")])
    with JournalReader(tmp_path / "j.db") as reader:
        assert list(reader.events(inc))[-1] == stored[0]


def test_hash_body_is_canonical_json_of_the_event():
    event = Event(7, "inc-1", T0 + 0.1, 3.25, "bøb", "note.added", "st\u2028ep",
                  {"text": 'a "quoted" \u2603', "n": [1, 2.5, None]})
    built = body_json(7, "inc-1", T0 + 0.1, 3.25, "bøb", "note.added", "st\u2028ep",
                      canonical_json(event.data))
    assert built == canonical_json(event.body())


@given(ts=st.floats(allow_nan=True, allow_infinity=True) | st.integers(), mono=st.floats() | st.integers(),
       actor=st.text(), step=st.none() | st.text())
def test_hash_body_spells_every_number_and_name_as_canonical_json(ts, mono, actor, step):
    """body_json and row_json spell numbers without json's encoder: they must still agree with
    it everywhere, or a row would not verify (nan and infinities included)."""
    event = Event(3, "inc-1", ts, mono, actor, "note.added", step, {"text": actor}, "p" * 64, "h" * 64)
    data = canonical_json(event.data)
    assert body_json(3, "inc-1", ts, mono, actor, "note.added", step, data) == canonical_json(event.body())
    assert row_json((3, "inc-1", ts, mono, actor, "note.added", step, data, "p" * 64, "h" * 64)) == canonical_json(event.to_dict())


async def test_output_lands_before_the_state_event_that_follows_it(tmp_path):
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0)
        w.append_output("probe", "stdout", "one\ntwo", ts=T0 + 1, mono=1.0)
        with JournalReader(tmp_path / "j.db") as reader:
            assert [e.type for e in reader.events(inc)] == ["run.started"]  # still buffered
        await w.append([ev(E.STEP_SUCCEEDED, 2, "probe", attempt=1, exit_code=0)])
    with JournalReader(tmp_path / "j.db") as reader:
        events = list(reader.events(inc))
    assert [(e.type, e.data.get("text")) for e in events[1:]] == [
        ("step.output", "one"), ("step.output", "two"), ("step.succeeded", None)]


async def test_flush_timer_commits_buffered_output(tmp_path):
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=0.01) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0)
        w.append_output("probe", "stdout", "line", ts=T0 + 1, mono=1.0)
        with JournalReader(tmp_path / "j.db") as reader:
            for _ in range(500):
                if len(list(reader.rows(inc))) == 2:
                    break
                await asyncio.sleep(0.01)
            assert [r[5] for r in reader.rows(inc)] == ["run.started", "step.output"]


async def test_concurrent_appends_share_commits_and_keep_one_chain(tmp_path):
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0)
        results = await asyncio.gather(*(
            w.append([ev(E.NOTE_ADDED, i, actor=f"p{i}", text=str(i))]) for i in range(40)))
    seqs = [r[0].seq for r in results]
    assert seqs == list(range(2, 42))
    with JournalReader(tmp_path / "j.db") as reader:
        assert reader.verify(inc).sound
        assert [n.text for n in reader.state(inc).notes] == [str(i) for i in range(40)]



async def test_flush_waits_for_rows_a_commit_in_flight_has_taken(tmp_path):
    """The engine flushes before it spawns; rows the flush timer already took must still be
    durable when that flush returns, or a process could start before its step.started."""
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0)
        w.stage([ev(E.NOTE_ADDED, 1.0, actor="bob", text="staged")])
        in_flight = asyncio.create_task(w.flush())
        for _ in range(3):
            await asyncio.sleep(0)  # until it has taken the row and waits for the connection thread
        await w.flush()
        with JournalReader(tmp_path / "j.db") as reader:
            assert [r[5] for r in reader.rows(inc)] == ["run.started", "note.added"]
        await in_flight

async def test_incident_ids_get_a_suffix_when_taken(tmp_path):
    async with await JournalWriter.open(tmp_path / "j.db", flush_interval=None) as w:
        ids = [await w.start_incident(web_runbook(), actor="a", ts=T0, mono=0.0) for _ in range(3)]
    assert ids == ["web-outage-20231114-221320", "web-outage-20231114-221320-2",
                   "web-outage-20231114-221320-3"]
    with JournalReader(tmp_path / "j.db") as reader:
        assert reader.resolve(None).id == ids[-1]
        assert all(reader.verify(i).sound for i in ids)


async def test_resume_continues_the_chain_in_a_new_writer(tmp_path):
    path = tmp_path / "j.db"
    inc = await write_web_incident(path)
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.resume_incident(inc)
        await w.append([ev(E.RUN_RESUMED, 30, runbook_changed=False)])
        with pytest.raises(JournalError, match="no incident 'nope'"):
            await w.resume_incident("nope")
    with JournalReader(path) as reader:
        assert reader.verify(inc).sound
        assert reader.state(inc).resumes == 1


async def test_journal_and_its_directory_are_private(tmp_path):
    path = tmp_path / "new" / "dir" / "j.db"
    await write_web_incident(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


async def test_a_second_writer_is_refused_naming_the_holder(tmp_path):
    path = tmp_path / "j.db"
    async with await JournalWriter.open(path, flush_interval=None):
        with pytest.raises(JournalLocked, match=f"in use by process {os.getpid()}"):
            await JournalWriter.open(path, flush_interval=None)
    async with await JournalWriter.open(path, flush_interval=None):
        pass  # released on close


async def test_a_journal_of_another_version_is_refused(tmp_path):
    path = tmp_path / "j.db"
    await write_web_incident(path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(JournalError, match="version 99.*use a newer warroom"):
        JournalReader(path)
    with pytest.raises(JournalError, match="version 99"):
        await JournalWriter.open(path)


async def test_writer_journals_in_wal_mode(tmp_path):
    path = tmp_path / "j.db"
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(web_runbook(), actor="a", ts=T0, mono=0.0)
        assert os.path.exists(f"{path}-wal")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
