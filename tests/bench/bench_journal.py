"""Journal throughput, each figure measured beside raw stdlib sqlite3 at the same durability
(WAL, synchronous=FULL, one transaction per commit) in the same run, on the same disk.

A plain script, not a test: `python tests/bench/bench_journal.py [--events N]`. Goals:
durable single-writer state events >= 0.6x raw sqlite3 (median of interleaved rounds); 64 events ready together >= 50,000/s;
batched output lines >= 100,000/s; folding a 1,000,000-event incident < 5 s. Exits 1 when a
goal is missed. Files go to a temporary directory beside the checkout (a real disk, not tmpfs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from warroom.journal import EventType, JournalReader, JournalWriter, NewEvent  # noqa: E402
from warroom.runbook.model import Runbook, Step, StepKind  # noqa: E402

RUNBOOK = Runbook(id="bench", title="bench", steps=tuple(
    Step(f"s{i}", StepKind.RUN, command=f"echo {i}") for i in range(20)))
DATA = {"attempt": 1, "exit_code": 0, "duration_s": 1.25, "outputs": {"pid": 4242}}


def raw_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, incident TEXT, ts REAL, "
                 "mono REAL, actor TEXT, type TEXT, step TEXT, data TEXT)")
    return conn


def raw_rate(path: Path, total: int, batch: int, data: dict) -> float:
    conn = raw_connection(path)
    text = json.dumps(data)
    start = time.perf_counter()
    for i in range(0, total, batch):
        conn.executemany("INSERT INTO events VALUES (NULL, 'x', ?, ?, 'warroom', 'step.succeeded', "
                         "'s1', ?)", [(time.time(), 0.0, text)] * batch)
        conn.commit()
    rate = total / (time.perf_counter() - start)
    conn.close()
    return rate


async def journal_rate(path: Path, total: int, batch: int) -> float:
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(RUNBOOK, actor="bench", ts=time.time(), mono=0.0)
        start = time.perf_counter()
        for i in range(0, total, batch):
            await w.append([NewEvent(EventType.STEP_SUCCEEDED, "warroom", time.time(), float(i),
                                     "s1", DATA) for _ in range(batch)])
        return total / (time.perf_counter() - start)


async def journal_output_rate(path: Path, total: int, flush_every: int) -> float:
    async with await JournalWriter.open(path, flush_interval=None) as w:
        await w.start_incident(RUNBOOK, actor="bench", ts=time.time(), mono=0.0)
        start = time.perf_counter()
        now = time.time()
        for i in range(total):
            w.append_output("s1", "stdout", f"line {i} of the bench output, nothing secret",
                            ts=now, mono=1.0)
            if i % flush_every == flush_every - 1:
                await w.flush()
        await w.flush()
        return total / (time.perf_counter() - start)


def raw_output_rate(path: Path, total: int, flush_every: int) -> float:
    conn = raw_connection(path)
    start = time.perf_counter()
    now = time.time()
    for i in range(0, total, flush_every):
        conn.executemany(
            "INSERT INTO events VALUES (NULL, 'x', ?, 1.0, 'warroom', 'step.output', 's1', ?)",
            [(now, json.dumps({"stream": "stdout", "text": f"line {j} of the bench output, "
                                                              "nothing secret"}))
             for j in range(i, min(total, i + flush_every))])
        conn.commit()
    rate = total / (time.perf_counter() - start)
    conn.close()
    return rate


async def build_big_incident(path: Path, events: int) -> str:
    """An incident of `events` rows: 20 steps, each started, ~events/20 output lines, done."""
    per_step = events // 20 - 2
    async with await JournalWriter.open(path, flush_interval=None) as w:
        inc = await w.start_incident(RUNBOOK, actor="bench", ts=time.time(), mono=0.0)
        mono = 0.0
        for step in RUNBOOK.step_ids:
            await w.append([NewEvent(EventType.STEP_STARTED, "warroom", time.time(), mono, step,
                                     {"attempt": 1, "command": "echo"})])
            for i in range(per_step):
                w.append_output(step, "stdout", f"{step} line {i}", ts=time.time(), mono=mono)
                if i % 50_000 == 49_999:
                    await w.flush()
            mono += 10.0
            await w.append([NewEvent(EventType.STEP_SUCCEEDED, "warroom", time.time(), mono,
                                     step, DATA)])
        await w.append([NewEvent(EventType.RUN_FINISHED, "warroom", time.time(), mono, None,
                                 {"result": "succeeded"})])
    return inc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="size of the fold bench")
    opts = parser.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(dir=ROOT / "tests" / "bench") as tmp:
        d = Path(tmp)

        single, rounds = 1000, 7
        pairs = [(raw_rate(d / f"raw1-{n}.db", single, 1, DATA),
                  asyncio.run(journal_rate(d / f"j1-{n}.db", single, 1))) for n in range(rounds)]
        ratios = sorted(ours / raw for raw, ours in pairs)  # interleaved: a busy moment hits both
        ratio = statistics.median(ratios)
        print(f"durable state events, one at a time: journal {statistics.median(o for _, o in pairs):,.0f}/s, "
              f"raw sqlite3 {statistics.median(r for r, _ in pairs):,.0f}/s, ratio {ratio:.2f} "
              f"(median of {rounds} rounds, {ratios[0]:.2f}-{ratios[-1]:.2f}; goal >= 0.6)")
        if ratio < 0.6:
            failures.append("single-event ratio")

        grouped = 64 * 300
        raw64 = raw_rate(d / "raw64.db", grouped, 64, DATA)
        ours64 = asyncio.run(journal_rate(d / "j64.db", grouped, 64))
        print(f"durable state events, 64 ready together: journal {ours64:,.0f}/s, raw sqlite3 "
              f"{raw64:,.0f}/s, ratio {ours64 / raw64:.2f} (goal >= 50,000/s)")
        if ours64 < 50_000:
            failures.append("group commit")

        lines = 200_000
        raw_out = raw_output_rate(d / "rawout.db", lines, 10_000)
        ours_out = asyncio.run(journal_output_rate(d / "jout.db", lines, 10_000))
        print(f"output lines, 10,000 per flush: journal {ours_out:,.0f}/s, raw sqlite3 "
              f"{raw_out:,.0f}/s, ratio {ours_out / raw_out:.2f} (goal >= 100,000/s)")
        if ours_out < 100_000:
            failures.append("output lines")

        big = d / "big.db"
        t0 = time.perf_counter()
        inc = asyncio.run(build_big_incident(big, opts.events))
        built = time.perf_counter() - t0
        with JournalReader(big) as reader:
            t0 = time.perf_counter()
            state = reader.state(inc)
            fold = time.perf_counter() - t0
            t0 = time.perf_counter()
            for row in reader.rows(inc):
                json.loads(row[7])
            raw_read = time.perf_counter() - t0
        print(f"fold of a {state.events:,}-event incident: {fold:.2f} s (goal < 5 s); raw "
              f"sqlite3 read + json.loads of every row: {raw_read:.2f} s; built in {built:.1f} s")
        if fold >= 5.0 or state.result.value != "succeeded":
            failures.append("fold")
    if failures:
        print("missed: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
