"""Engine throughput, each figure a ratio against a floor measured in the same run on the same
disk: how much the scheduler, reducer and journal cost on top of the work they cannot avoid.

A plain script, not a test: `python tests/bench/bench_engine.py [--steps N] [--procs N]`.
(a) N no-op drill steps (estimate 0, speed max, journal on), as a chain and as a fan-out,
    against bare asyncio plus raw sqlite3 (WAL, synchronous=FULL) committing the same rows
    (2 per step) in the same number of commits the engine made.
(b) `run: "true"` steps, fan-out under max_parallel 8, against a bare
    asyncio.create_subprocess_exec loop running `true` 8 at a time (goal >= 0.8x).
(c) the same run against the engine's own spawner (StepProcess) running `sh -c true` 8 at a
    time with no scheduler and no journal: what scheduling and journaling cost per step, now
    that spawning is cheaper than asyncio's (no goal; it shows where (b)'s margin comes from).
(d) the start of each run of (a): Engine.start until the first event (which embeds the
    normalized runbook) is durable (goal < 0.3 s). (a)'s time includes it.
`--profile` prints the top of a cProfile of each engine run. Files go to a temporary directory
beside the checkout (a real disk, not tmpfs).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from warroom.engine.clock import RealClock, VirtualClock  # noqa: E402
from warroom.engine.process import StepProcess  # noqa: E402
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, Outcome  # noqa: E402
from warroom.journal.state import RunResult  # noqa: E402
from warroom.journal.store import JournalWriter  # noqa: E402
from warroom.runbook.loader import load_runbook  # noqa: E402

PROCESS_GOAL = 0.8
NOOP_GOAL = 25_000  # steps/s
START_GOAL_S = 0.3
PARALLEL = 8


def write_runbook(path: Path, steps: int, *, chain: bool, command: str, max_parallel: int | None = None) -> Path:
    lines = [f"runbook: bench-{path.stem}", f"mode: {'linear' if chain else 'parallel'}"]
    if max_parallel is not None:
        lines.append(f"max_parallel: {max_parallel}")
    lines.append("steps:")
    for i in range(steps):
        lines += [f"  - id: s{i}", f"    run: {json.dumps(command)}", "    estimate: 0s"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class CommitCounter:
    """Counts the journal's transactions (its group commits) while installed."""

    def __init__(self) -> None:
        self.commits = 0
        self._original: Callable[..., Any] = JournalWriter._write

    def __enter__(self) -> CommitCounter:
        original = self._original

        async def counted(writer: JournalWriter, rows: list[Any], incidents: list[Any]) -> None:
            self.commits += 1
            await original(writer, rows, incidents)

        JournalWriter._write = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        JournalWriter._write = self._original  # type: ignore[method-assign]


async def engine_run(runbook_path: Path, journal: Path, *, drill: bool) -> tuple[float, float, int]:
    """Seconds from the start to run.finished, seconds of the start alone (until the first
    event is durable), and the rows journaled."""
    runbook = load_runbook(runbook_path)
    writer = await JournalWriter.open(journal)
    try:
        clock = VirtualClock(speed=None, start_wall=time.time()) if drill else RealClock()
        engine = Engine(writer, runbook, RunOptions(actor="bench", drill=drill, speed=None), clock)
        start = time.perf_counter()
        await engine.start([])
        started = time.perf_counter() - start
        outcome = await engine.run()
        elapsed = time.perf_counter() - start
    finally:
        await writer.close()
    if outcome is not Outcome.FINISHED or engine.state.result is not RunResult.SUCCEEDED:
        raise SystemExit(f"the bench run of {runbook_path.name} ended {engine.state.result.value}")
    return elapsed, started, engine.state.events


def measure(label: str, run: Callable[[], Any], profile: bool) -> Any:
    if not profile:
        return run()
    profiler = cProfile.Profile()
    result = profiler.runcall(run)
    print(f"\n--- cProfile: {label} (top 15 by own time) ---")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)
    return result


async def sqlite_floor(path: Path, rows: int, commits: int) -> float:
    """Bare asyncio and raw sqlite3 writing `rows` event rows in `commits` transactions."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, incident TEXT, ts REAL, mono REAL, "
                 "actor TEXT, type TEXT, step TEXT, data TEXT)")
    per_commit, extra = divmod(rows, commits)
    start = time.perf_counter()
    seq = 0
    for c in range(commits):
        batch = per_commit + (1 if c < extra else 0)
        data = json.dumps({"attempt": 1, "exit_code": 0})
        conn.executemany("INSERT INTO events VALUES (?, 'bench', ?, 0.0, 'warroom', 'step.started', ?, ?)",
                         [(seq + i, time.time(), f"s{seq + i}", data) for i in range(batch)])
        conn.commit()
        seq += batch
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


async def process_floor(count: int, parallel: int) -> float:
    """Bare asyncio running `true` `count` times, `parallel` at a time, output piped."""
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with gate:
            proc = await asyncio.create_subprocess_exec(
                "true", stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
            await proc.communicate()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - start


async def spawner_floor(count: int, parallel: int) -> float:
    """The engine's StepProcess alone running `sh -c true`, as a `run: "true"` step does."""
    gate = asyncio.Semaphore(parallel)

    async def one() -> None:
        async with gate:
            proc = StepProcess(["sh", "-c", "true"], lambda stream, chunk: None)
            proc.start()
            await proc.wait()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="no-op drill steps (a)")
    parser.add_argument("--procs", type=int, default=300, help="`true` steps (b)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of (b) and (c); medians shown")
    parser.add_argument("--profile", action="store_true", help="cProfile each engine run")
    opts = parser.parse_args()
    rows: list[tuple[str, str, str, float, str]] = []
    missed = []
    starts: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory(dir=ROOT / "tests" / "bench") as tmp:
        d = Path(tmp)
        for shape, chain in (("chain", True), ("fan-out", False)):
            rb = write_runbook(d / f"noop-{shape}.yaml", opts.steps, chain=chain, command="true")
            with CommitCounter() as counter:
                elapsed, started, events = measure(f"{opts.steps} no-op drill steps, {shape}",
                                          lambda: asyncio.run(engine_run(rb, d / f"noop-{shape}.db", drill=True)),
                                          opts.profile)
            floor = asyncio.run(sqlite_floor(d / f"floor-{shape}.db", 2 * opts.steps, counter.commits))
            ours, base = opts.steps / elapsed, opts.steps / floor
            rows.append((f"(a) {opts.steps:,} no-op steps, {shape}",
                         f"{ours:,.0f} steps/s ({events:,} rows, {counter.commits:,} commits)",
                         f"{base:,.0f} steps/s", ours / base, ""))
            starts.append((f"(d) starting that {opts.steps:,}-step runbook, {shape}", started))
            if ours < NOOP_GOAL:
                missed.append(f"(a) {shape} below {NOOP_GOAL:,} steps/s")
            if started >= START_GOAL_S:
                missed.append(f"(d) {shape} start over {START_GOAL_S} s")

        rb = write_runbook(d / "true.yaml", opts.procs, chain=False, command="true", max_parallel=PARALLEL)
        engine_s: list[float] = []
        floor_s: list[float] = []
        spawner_s: list[float] = []
        for n in range(opts.rounds):  # interleaved, so a busy moment of the machine hits both sides
            elapsed, _, _ = measure(f"{opts.procs} `true` steps", lambda: asyncio.run(engine_run(rb, d / f"true-{n}.db", drill=False)),
                                 opts.profile and n == 0)
            engine_s.append(elapsed)
            floor_s.append(asyncio.run(process_floor(opts.procs, PARALLEL)))
            spawner_s.append(asyncio.run(spawner_floor(opts.procs, PARALLEL)))
        ours = opts.procs / statistics.median(engine_s)
        for label, floors in ((f"(b) {opts.procs} `true` steps, fan-out, max_parallel {PARALLEL}", floor_s),
                              ("(c) the same, against the engine's spawner alone", spawner_s)):
            ratios = sorted(f / e for f, e in zip(floors, engine_s))
            rows.append((label, f"{ours:,.0f} steps/s (median of {opts.rounds} rounds)",
                         f"{opts.procs / statistics.median(floors):,.0f} steps/s", statistics.median(ratios),
                         f"  ({ratios[0]:.2f}-{ratios[-1]:.2f})"))
        if rows[-2][3] < PROCESS_GOAL:
            missed.append(f"(b) below {PROCESS_GOAL}x")

    print(f"\n$ python tests/bench/bench_engine.py --steps {opts.steps} --procs {opts.procs} --rounds {opts.rounds}")
    width = max(len(label) for label in [r[0] for r in rows] + [s[0] for s in starts])
    print(f"{'figure':<{width}}  {'engine':<48}  {'floor':<16}  ratio (range over rounds)")
    for label, ours_text, base_text, ratio, spread in rows:
        print(f"{label:<{width}}  {ours_text:<48}  {base_text:<16}  {ratio:.2f}x{spread}")
    for label, seconds in starts:
        print(f"{label:<{width}}  {seconds:.3f} s (goal < {START_GOAL_S} s)")
    if missed:
        print("missed: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
