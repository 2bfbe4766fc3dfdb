"""Redaction canaries: a registered secret never reaches the database file, its WAL, an
export or the screen, also split across chunks or inside a multi-line value."""

from __future__ import annotations

import argparse
import asyncio

from hypothesis import given
from hypothesis import strategies as st
from journal_support import SECRET, T0, ev, web_runbook, write_web_incident

from warroom.journal import EventType as E
from warroom.journal import JournalReader, JournalWriter
from warroom.cli.journal_commands import cmd_export, cmd_list, cmd_report, cmd_verify
from warroom.journal.redact import Redactor

MULTILINE = "-----BEGIN KEY-----\nAbCdEf0123\n-----END KEY-----"


def test_redact_replaces_every_occurrence_longest_first():
    r = Redactor(["abc", "abcdef", ""])
    assert r.redact("x abcdef y abc z") == "x *** y *** z"


@given(text=st.text(alphabet="ab\nxS", max_size=60), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_streaming_equals_whole_text_for_any_chunking(text, cuts):
    secrets = ["Sab", "ab\nx", "bbb"]
    r = Redactor(secrets)
    pieces, last = [], 0
    for cut in sorted(c % (len(text) + 1) for c in cuts) + [len(text)]:
        pieces.append(text[last:cut])
        last = cut
    streamed = "".join(r.feed(p) for p in pieces) + r.flush()
    assert streamed == Redactor(secrets).redact(text)


async def test_secret_never_reaches_disk_or_exports(tmp_path, capsys):
    path = tmp_path / "j.db"
    async with await JournalWriter.open(path, secrets=[SECRET, MULTILINE],
                                        flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0,
                                     data={"vars": {"token": SECRET, "nested": [{"k": MULTILINE}]}})
        half = len(SECRET) // 2
        w.append_output_chunk("purge", "stdout", f"Bearer {SECRET[:half]}", ts=T0, mono=1.0)
        w.append_output_chunk("purge", "stdout", f"{SECRET[half:]}\nkey:\n", ts=T0, mono=1.0)
        for part in MULTILINE.split("\n"):
            w.append_output_chunk("purge", "stdout", part + "\n", ts=T0, mono=1.0)
        await w.append([ev(E.STEP_FAILED, 2, "purge", reason=f"auth {SECRET} refused",
                           detail={SECRET: [MULTILINE]})])
        await w.flush()
        for suffix in ("", "-wal"):
            raw = (tmp_path / f"j.db{suffix}").read_bytes()
            assert SECRET.encode() not in raw and b"AbCdEf0123" not in raw, suffix
    with JournalReader(path) as reader:
        texts = [e.data["text"] for e in reader.events(inc) if e.type == "step.output"]
    assert texts == ["Bearer ***", "key:", "***"]
    for fmt in ("jsonl", "csv", "md"):
        for command in (cmd_list, cmd_verify, cmd_report, cmd_export):
            command(argparse.Namespace(journal=str(path), incident=None, format=fmt,
                                       output=None, json=fmt == "jsonl"))
        out = capsys.readouterr()
        assert SECRET not in out.out + out.err and "AbCdEf0123" not in out.out


def test_the_fixture_incident_is_redacted_too(tmp_path):
    path = tmp_path / "j.db"
    asyncio.run(write_web_incident(path))
    assert SECRET.encode() not in path.read_bytes()
