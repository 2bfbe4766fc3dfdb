"""How long `warroom --help` takes (goal: under 0.3 s), against a bare `python -c pass`.

Run: python tests/bench/bench_cli.py
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

RUNS = 15


def timed(argv: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    script = shutil.which("warroom")
    floor = timed([sys.executable, "-c", "pass"])
    module = timed([sys.executable, "-m", "warroom", "--help"])
    print(f"python -c pass           median {floor * 1000:6.1f} ms  (floor)")
    print(f"python -m warroom --help median {module * 1000:6.1f} ms  goal < 300 ms")
    worst = module
    if script:
        entry = timed([script, "--help"])
        worst = max(worst, entry)
        print(f"warroom --help           median {entry * 1000:6.1f} ms  goal < 300 ms")
    return 0 if worst < 0.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
