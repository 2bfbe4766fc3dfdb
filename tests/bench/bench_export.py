"""Export and verify of a long incident against the floor: reading its rows and hashing them in
plain Python (sqlite3 and hashlib, the chain's own formula, nothing of warroom's).

Plain script (not collected by pytest): `python tests/bench/bench_export.py [--events N]`.
Builds the journal as bench_replay.py does (a drill whose step printed N output lines), then
times, best of 3 each: the floor, `warroom verify`, and `warroom export --format jsonl` and
`--format csv` to a file, all through the command line's own entry point. Exits 1 when any
of them takes over 1.5x the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from bench_replay import build  # noqa: E402

from warroom.cli import main as warroom  # noqa: E402

BUDGET = 1.5


def floor(journal: Path, incident: str) -> None:
    """Every row of the incident read and hashed in plain Python: its stored fields joined and
    run through sha256, no JSON parsed or built (the least any reader that hashes does)."""
    conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT seq, incident, ts, mono, actor, type, step, data, prev_hash, hash FROM events "
                            "WHERE incident = ? ORDER BY seq", (incident,))
        for seq, inc, ts, mono, actor, type_, step, data, prev, _ in rows:
            hashlib.sha256(f"{prev}{seq}{inc}{ts!r}{mono!r}{actor}{type_}{step}{data}".encode()).hexdigest()
    finally:
        conn.close()


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def command(*args: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = warroom(list(args))
    if code != 0:
        raise SystemExit(f"warroom {' '.join(args)} exited {code}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:
        journal = Path(tmp) / "bench.db"
        incident = asyncio.run(build(journal, args.events))
        outs = (Path(tmp) / f"export-{n}" for n in range(100))  # export -o never overwrites
        base = best_of(3, lambda: floor(journal, incident))
        print(f"floor (read every row and sha256 its fields in plain Python): {base:.2f} s")
        ok = True
        for name, argv in (("verify", ("verify", incident, "--journal", str(journal))),
                           ("export jsonl", ("export", incident, "--format", "jsonl", "--journal", str(journal))),
                           ("export csv", ("export", incident, "--format", "csv", "--journal", str(journal)))):
            to = ("-o",) if argv[0] == "export" else ()
            took = best_of(3, lambda: command(*argv, *to, *((str(next(outs)),) if to else ())))
            ratio = took / base
            ok = ok and ratio <= BUDGET
            print(f"{name}: {took:.2f} s, {ratio:.2f}x the floor")
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
