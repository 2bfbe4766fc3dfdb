"""Replay of a long incident: open and seek times, and memory, on a 1,000,000-event journal.

Plain script (not collected by pytest): `python tests/bench/bench_replay.py [--events N]`.
Builds the journal through the real writer (a drill whose steps print output lines, as a
long incident's journal mostly is), then opens it as `warroom replay` does (ReplaySession.load)
and seeks to ten places, before and after the background checkpoints are folded. Memory is the
process's peak RSS (resource.getrusage) over what it was before opening. Exits 1 over budget:
open 1 s, 200 MB, any seek 300 ms (once the checkpoints are folded).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from warroom.engine.clock import VirtualClock  # noqa: E402
from warroom.engine.ledger import RunOptions  # noqa: E402
from warroom.engine.loop import Engine  # noqa: E402
from warroom.journal.store import JournalReader, JournalWriter  # noqa: E402
from warroom.runbook.loader import load_runbook  # noqa: E402
from warroom.tui.session import ReplaySession  # noqa: E402

OPEN_S, OPEN_MB, SEEK_MS = 1.0, 200.0, 300.0
RUNBOOK = """\
runbook: bench-replay
title: Replay benchmark
steps:
  - id: work
    run: echo work
    drill: {duration: [10s, 10s]}
"""


async def build(journal: Path, events: int) -> str:
    """A drill started by the engine, then `events` output lines journaled in batches."""
    path = journal.parent / "bench-replay.yaml"
    path.write_text(RUNBOOK)
    writer = await JournalWriter.open(journal)
    try:
        engine = Engine(writer, load_runbook(path), RunOptions(actor="bench", drill=True, speed=None, source=str(path)),
                        VirtualClock(speed=None, start_wall=1_767_225_600.0))
        incident = await engine.start([])
        for start in range(0, events, 10_000):
            text = "\n".join(f"work line {n} of the long incident" for n in range(start, min(events, start + 10_000)))
            writer.append_output("work", "stdout", text, ts=1_767_225_600.0 + start / 1000, mono=start / 1000)
            await writer.flush()
        await engine.run()
    finally:
        await writer.close()
    return incident


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seeks(session: ReplaySession) -> list[float]:
    total = session.total
    times = []
    for fraction in (0.5, 0.9, 0.1, 0.99, 0.3, 0.7, 0.05, 0.6, 0.95, 0.2):
        started = time.perf_counter()
        session.seek(int(total * fraction))
        times.append((time.perf_counter() - started) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "bench.db"
        started = time.perf_counter()
        incident = asyncio.run(build(journal, args.events))
        with JournalReader(journal) as reader:
            count = reader.resolve(incident).events
        print(f"built {count:,} events in {time.perf_counter() - started:.1f} s")
        before = rss_mb()
        started = time.perf_counter()
        session = ReplaySession.load(str(journal), incident, 10.0, paused=True)
        open_s = time.perf_counter() - started
        open_mb = rss_mb() - before
        print(f"open: {open_s * 1000:.0f} ms, +{open_mb:.0f} MB peak RSS")
        early = seeks(session)
        print(f"seeks while checkpoints fold: max {max(early):.0f} ms")
        started = time.perf_counter()
        session.index.wait()
        print(f"checkpoints folded in {time.perf_counter() - started:.1f} s more")
        late = seeks(session)
        peak = rss_mb() - before
        print(f"seeks: max {max(late):.0f} ms, median {sorted(late)[len(late) // 2]:.0f} ms; peak +{peak:.0f} MB")
        session.index.close()
    ok = open_s <= OPEN_S and peak <= OPEN_MB and max(late) <= SEEK_MS
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
