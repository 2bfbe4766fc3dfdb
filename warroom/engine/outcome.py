"""How a run ended for the loop, and the exit codes a script waiting on `warroom` reads.

Kept free of heavy imports: the command line reads the exit codes at start-up.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warroom.journal.state import RunResult


class Outcome(str, Enum):
    FINISHED = "finished"  # run.finished journaled; see state.result
    WAITING = "waiting"  # stopped: only a person can move it on (headless without --auto)
    INTERRUPTED = "interrupted"  # a signal; run.interrupted journaled, resumable


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the run failed or rolled back, or the input was invalid
    USAGE = 2
    WAITING = 3  # headless, stopped waiting for a person
    INTERRUPTED = 130  # 128 + SIGINT, when no other signal is known


def exit_code(outcome: Outcome, result: RunResult, signal_number: int | None = None) -> int:
    """A run's exit code: 128+N when signal N ended it, 3 waiting, 0 succeeded, else 1."""
    if outcome is Outcome.INTERRUPTED:
        return 128 + signal_number if signal_number else int(ExitCode.INTERRUPTED)
    if outcome is Outcome.WAITING:
        return int(ExitCode.WAITING)
    return int(ExitCode.OK if result.value == "succeeded" else ExitCode.FAILED)
