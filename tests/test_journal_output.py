"""What a step prints, as the journal keeps it and a terminal or a spreadsheet shows it: inert
control characters, formula-safe CSV, bounded rows, escaped bytes, and a full disk that stops
the writer with one error instead of callback tracebacks."""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import cli, group_alive, journal_state, write_runbook
from journal_support import T0, ev, web_runbook

from warroom.journal import EventType as E
from warroom.journal import JournalReader, JournalWriter
from warroom.cli.journal_commands import cmd_export
from warroom.journal.errors import JournalWriteError
from warroom.journal.output import LINE_LIMIT
from warroom.journal.state import RunResult

ROOT = Path(__file__).resolve().parent.parent
CONTROLS = ("\x1b", "\x07", "\r", "\x00", "\x9b")
RUNBOOK = r"""
runbook: noisy
steps:
  - id: shout
    run: printf '\033]0;pwned\007\033[2J wiped\r hidden\000 \377 end\n'
"""


def warroom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warroom", *args], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_headless_run_and_replay_print_control_characters_as_text(tmp_path):
    (tmp_path / "noisy.yaml").write_text(RUNBOOK)
    journal = str(tmp_path / "j.db")
    run = warroom("run", str(tmp_path / "noisy.yaml"), "--headless", "--journal", journal)
    assert run.returncode == 0, run.stderr
    replay = warroom("replay", "--headless", "--journal", journal)
    assert replay.returncode == 0, replay.stderr
    for out in (run.stdout, replay.stdout):
        assert not any(c in out for c in CONTROLS), repr(out)
        assert "\u241b]0;pwned\u2407\u241b[2J wiped\u240d hidden\u2400" in out
    assert "journal head of noisy-" in run.stderr and "--expect" in run.stderr
    with JournalReader(journal) as reader:
        texts = [e.data["text"] for e in reader.events(reader.resolve(None).id) if e.type == "step.output"]
    assert texts == ["\x1b]0;pwned\x07\x1b[2J wiped\r hidden\x00 \\xff end"]  # kept exact, bytes escaped


async def test_csv_cells_never_run_as_formulas_and_markdown_shows_controls(tmp_path, capsys):
    path = tmp_path / "j.db"
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(web_runbook(), actor="=cmd|' /C calc'!A0", ts=T0, mono=0.0)
        await w.append([ev(E.NOTE_ADDED, 1, actor="@SUM(1+1)", text="\x1b]52;c;cGF5bG9hZA==\x07"),
                        ev(E.NOTE_ADDED, 2, actor="-2+3", text="ok"),
                        ev(E.NOTE_ADDED, 3, actor="\tx", text="ok")])
    for fmt in ("csv", "md"):
        assert cmd_export(argparse.Namespace(journal=str(path), incident=None, format=fmt,
                                             output=None, json=False)) == 0
        out = capsys.readouterr().out
        if fmt == "csv":
            import csv

            actors = [row[5] for row in csv.reader(out.splitlines())][1:]
            assert actors == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)", "'-2+3", "'\tx"]
        else:
            assert not any(c in out for c in CONTROLS)
            assert "\u241b]52;c;cGF5bG9hZA==\u2407" in out


async def test_a_line_without_newline_is_journaled_in_bounded_marked_rows_as_it_grows(tmp_path):
    path = tmp_path / "j.db"
    seen: list[str] = []
    async with await JournalWriter.open(path, flush_interval=None, secrets=["hunter2"]) as w:
        await w.start_incident(web_runbook(), actor="a", ts=T0, mono=0.0)
        w.output_listener = lambda row, stream, text: seen.append(text)
        chunk = "x" * 4093 + "hunter2"  # a secret keeps being cut by the chunking too
        total = 0
        for _ in range(2000):  # 8 MB, no newline
            w.append_output_chunk("probe", "stdout", chunk, ts=T0, mono=1.0)
            total += len(chunk)
            assert total - sum(map(len, seen)) < LINE_LIMIT + len(chunk)  # nothing piles up
        w.append_output_chunk("probe", "stdout", "tail\nnext\n", ts=T0, mono=1.0)
        w.end_output("probe", "stdout", ts=T0, mono=2.0)
        w.append_output("probe", "stderr", "y" * (2 * LINE_LIMIT + 5), ts=T0, mono=2.0)
    with JournalReader(path) as reader:
        rows = [e.data for e in reader.events(reader.resolve(None).id) if e.type == "step.output"]
    stdout = [r for r in rows if r["stream"] == "stdout"]
    assert all(len(r["text"]) <= LINE_LIMIT for r in rows)
    assert all(r.get("more") for r in stdout[:-2]) and not stdout[-1].get("more")
    assert "".join(r["text"] for r in stdout[:-1]) == ("x" * 4093 + "***") * 2000 + "tail"
    assert stdout[-1]["text"] == "next"
    stderr = [r for r in rows if r["stream"] == "stderr"]
    assert [len(r["text"]) for r in stderr] == [LINE_LIMIT, LINE_LIMIT, 5]
    assert [bool(r.get("more")) for r in stderr] == [True, True, False]


async def test_text_with_undecodable_bytes_is_kept_escaped(tmp_path):
    path = tmp_path / "j.db"
    raw = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(web_runbook(), actor="a", ts=T0, mono=0.0)
        w.append_output("probe", "stdout", raw, ts=T0, mono=1.0)
        w.append_output_chunk("probe", "stderr", raw + "\n", ts=T0, mono=1.0)
    with JournalReader(path) as reader:
        texts = [e.data["text"] for e in reader.events(reader.resolve(None).id) if e.type == "step.output"]
    assert texts == ["caf\\xe9 \\xff"] * 2


@pytest.fixture
def tiny_fs(tmpfs):
    """A real 256 KiB filesystem (tmpfs), grown later to show resume works once space is back."""
    return tmpfs("tiny", "256k")


async def test_a_full_disk_stops_the_writer_with_one_clear_error(tiny_fs):
    path = tiny_fs / "j.db"
    w = await JournalWriter.open(path, flush_interval=None)
    incident = await w.start_incident(web_runbook(), actor="a", ts=T0, mono=0.0)
    committed = 1
    with pytest.raises(JournalWriteError) as info:
        for n in range(10_000):
            w.append_output("probe", "stdout", f"{n:08d} " + "z" * 2000, ts=T0, mono=1.0)
            await w.flush()
            committed += 1
    error = info.value
    assert error.errno == errno.ENOSPC and str(path) in str(error) and "ENOSPC" in str(error)
    w.append_output("probe", "stdout", "after the failure", ts=T0, mono=2.0)  # no raise in callbacks
    w.append_output_chunk("probe", "stdout", "more\n", ts=T0, mono=2.0)
    with pytest.raises(JournalWriteError):
        await w.flush()
    with pytest.raises(JournalWriteError):
        w.stage([ev(E.NOTE_ADDED, 3, text="x")])
    await w.close()
    assert subprocess.run(["mount", "-o", "remount,size=8m", str(tiny_fs)]).returncode == 0
    with JournalReader(path) as reader:
        assert reader.resolve(incident).events == committed and reader.verify(incident).sound
    async with await JournalWriter.open(path, flush_interval=None) as again:
        await again.resume_incident(incident)
        await again.append([ev(E.NOTE_ADDED, 4, text="space is back")])
    with JournalReader(path) as reader:
        assert reader.verify(incident).sound
        assert json.loads(list(reader.rows(incident))[-1][7]) == {"text": "space is back"}


def test_a_run_whose_journal_fills_the_disk_stops_cleanly_and_resumes_once_space_is_back(tiny_fs, tmp_path):
    """The whole command: a step floods its output onto a 256 KiB journal filesystem; the run
    stops within seconds with one clear line (the path, ENOSPC), exit 1, its step process
    stopped; once the disk is grown, `resume` finishes the incident."""
    pid_file = tmp_path / "flood.pid"
    rb = write_runbook(tmp_path, f"""\
        runbook: flood
        steps:
          - id: flood
            idempotent: true
            run: echo $$ > {pid_file}; test -e {tmp_path}/calm && exit 0; while true; do echo "a line of noise to fill the disk with"; done
        """)
    journal = tiny_fs / "j.db"
    res = cli("run", str(rb), "--headless", "--journal", str(journal), timeout=30)
    assert res.returncode == 1, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.startswith("warroom:")]
    assert "Traceback" not in res.stderr and any(str(journal) in line and "ENOSPC" in line for line in lines), res.stderr
    assert not group_alive(int(pid_file.read_text()))
    assert subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_fs)]).returncode == 0
    (tmp_path / "calm").touch()
    res = cli("resume", "--headless", "--journal", str(journal), timeout=30)
    assert res.returncode == 0, res.stderr
    assert journal_state(journal).result is RunResult.SUCCEEDED
