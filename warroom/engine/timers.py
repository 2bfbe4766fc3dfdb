"""Timers: what the engine waits for in time, by kind, with the attempt they belong to.

A timer carries its step's attempt token, so one left over from an attempt that has since
ended (a timeout after the step finished) neither fires nor moves a drill's virtual time.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from enum import Enum
from typing import Any


class TimerKind(Enum):
    DONE = "done"  # a drill step's simulated result
    WAIT = "wait"  # a wait step's duration
    RETRY = "retry"  # the delay before the next attempt
    POLL = "poll"  # the next run of a check polling `until`
    TIMEOUT = "timeout"  # a running attempt's timeout
    APPROVAL = "approval"  # an approval's timeout
    INJECT = "inject"  # a drill's scheduled inject
    RELEASE = "release"  # an injected claim ends
    DEADLINE = "deadline"  # the run's deadline
    AUTO = "auto"  # --auto answers a person's step
    UNDO = "undo"  # a drill undo's simulated end

    @property
    def engine_acts(self) -> bool:
        """The engine acts on its own when it fires, so a headless run must not stop before
        it. An approval's timeout is decided separately: in virtual time a drill plays it
        out; in a real run it counts once due, otherwise the run stops for a person."""
        return self in _ENGINE_ACTS

    @property
    def machine(self) -> bool:
        """Machine work a drill simulates at its --speed; the others (an approval's timeout,
        the deadline, injects) are moments on the clock."""
        return self in _MACHINE

    @property
    def of_attempt(self) -> bool:
        """Belongs to one attempt or wait of its step and goes stale when that ends."""
        return self in _OF_ATTEMPT


_ENGINE_ACTS = frozenset({TimerKind.DONE, TimerKind.WAIT, TimerKind.RETRY, TimerKind.POLL,
                          TimerKind.INJECT, TimerKind.RELEASE, TimerKind.AUTO})
_MACHINE = frozenset({TimerKind.DONE, TimerKind.WAIT, TimerKind.RETRY, TimerKind.POLL, TimerKind.TIMEOUT,
                      TimerKind.UNDO, TimerKind.AUTO})
_OF_ATTEMPT = frozenset({TimerKind.DONE, TimerKind.WAIT, TimerKind.RETRY, TimerKind.POLL,
                         TimerKind.TIMEOUT, TimerKind.APPROVAL, TimerKind.AUTO})


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    step: str | None = None
    token: int = 0
    payload: Any = None


class TimerHeap:
    """Timers by due time (run-clock seconds); ties keep the order they were armed in."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()

    def push(self, due: float, timer: Timer) -> None:
        heapq.heappush(self._heap, (due, next(self._seq), timer))

    def __bool__(self) -> bool:
        return bool(self._heap)

    def peek(self) -> tuple[float, Timer]:
        due, _, timer = self._heap[0]
        return due, timer

    def pop(self) -> tuple[float, Timer]:
        due, _, timer = heapq.heappop(self._heap)
        return due, timer

    def items(self) -> list[tuple[float, Timer]]:
        return [(due, timer) for due, _, timer in self._heap]
