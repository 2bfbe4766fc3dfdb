"""The crash sweep: the ledger incident of the resume tests, its runner SIGKILLed at many
seeded moments (before and while people are awaited, a second kill during the resume after
they answered, half of them with the step processes dying too, as in a power cut), carried to
its end from a shell each time. Counts what a commander would lose sleep over.

A plain script, not a test: `python tests/bench/bench_crash.py [--trials N] [--seed S]`.
Exits 1 when any trial ran a step twice, lost a step, failed its checks or did not end.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # run from a checkout, uninstalled

import pytest  # noqa: E402
from crash_support import ONCE, Incident, assert_carried_over, carry_to_end, events_in, kill_moments  # noqa: E402
from engine_support import journal_state  # noqa: E402


def clean_rows(tmp: Path) -> tuple[int, int]:
    """Rows of an unkilled run: up to the first stop for people, and after it."""
    inc = Incident.create(tmp)
    assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    first = events_in(inc.journal)
    inc.answer(journal_state(inc.journal))
    before = events_in(inc.journal)
    assert inc.runner("resume") == 0
    return first, events_in(inc.journal) - before


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=ROOT) as base:
        (Path(base) / "clean").mkdir()
        rows_first, rows_second = clean_rows(Path(base) / "clean")
        runners = doubles = lost = broken = unended = 0
        began = time.monotonic()
        for n, (first, second, power_cut) in enumerate(kill_moments(args.trials, args.seed)):
            tmp = Path(base) / f"t{n}"
            tmp.mkdir()
            inc = Incident.create(tmp)
            second_kill = None if second is None else round(second * rows_second)
            try:
                carry_to_end(inc, round(first * rows_first), second_kill, power_cut, random.Random(n))
            except (AssertionError, pytest.fail.Exception) as exc:
                unended += 1
                print(f"trial {n}: did not end: {str(exc).splitlines()[0]}", file=sys.stderr)
                continue
            finally:
                runners += inc.runners
            ledger = inc.ledger_lines()
            doubles += sum(max(0, ledger[sid] - 1) for sid in ONCE)
            lost += sum(1 for sid in ONCE if ledger[sid] == 0)
            try:
                assert_carried_over(inc)
            except AssertionError as exc:
                broken += 1
                print(f"trial {n}: {str(exc).splitlines()[0] if str(exc) else 'a check failed'}", file=sys.stderr)
        took = time.monotonic() - began
    print(f"trials {args.trials}, runners {runners} (resumes {runners - args.trials}), "
          f"steps run twice {doubles}, steps lost {lost}, failed checks {broken}, not ended {unended}, "
          f"{took:.0f} s")
    return 1 if doubles or lost or broken or unended else 0


if __name__ == "__main__":
    sys.exit(main())
