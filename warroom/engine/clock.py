"""Time for the engine: the real clock for incidents, a virtual one for drills and tests.

The scheduler keeps its own timer heap and asks the clock only two things: what time it is,
and how long to wait in real seconds before a virtual deadline. A drill at `--speed max`
therefore jumps straight to the next deadline, and the same seed replays the same events.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field


class Clock:
    """Monotonic seconds since the run began (`now`) and wall-clock epoch seconds (`wall`)."""

    virtual = False

    def now(self) -> float:
        raise NotImplementedError

    def wall(self) -> float:
        raise NotImplementedError

    def real_delay(self, until: float) -> float | None:
        """Real seconds to wait before `until`; None means advance at once (speed max)."""
        raise NotImplementedError

    def advance_to(self, when: float) -> None:
        """Called when the scheduler reaches a deadline; only virtual clocks move."""

    def pace(self, people: bool) -> None:
        """Told whether the run waits only on people now; only a drill's clock changes pace."""


@dataclass
class RealClock(Clock):
    offset: float = 0.0  # mono of the resumed run, so times carry on across a resume
    _start: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return self.offset + time.monotonic() - self._start

    def wall(self) -> float:
        return time.time()

    def real_delay(self, until: float) -> float | None:
        return max(0.0, until - self.now())


@dataclass
class VirtualClock(Clock):
    """Virtual time for drills: machine work (runs, checks, waits, retries) at `speed` virtual
    seconds per real second, None being max (time moves from deadline to deadline). While a
    person is awaited and nothing else can move, time runs at the wall clock's rate, whatever
    the speed: people take the time they take, timeouts and the deadline count it, and the
    after-action's waits on people are the time they really took."""

    speed: float | None = None
    start_wall: float = 0.0
    _now: float = 0.0  # virtual time at the anchor
    _anchor: float = field(default_factory=time.monotonic)  # real time of the anchor
    _people: bool = False  # paced by people now: 1x
    virtual = True

    @property
    def rate(self) -> float | None:
        return 1.0 if self._people else self.speed

    def now(self) -> float:
        rate = self.rate
        if rate is None:
            return self._now
        return self._now + (time.monotonic() - self._anchor) * rate

    def pace(self, people: bool) -> None:
        if people != self._people:
            self._now, self._anchor = self.now(), time.monotonic()
            self._people = people

    def wall(self) -> float:
        return self.start_wall + self.now()

    def real_delay(self, until: float) -> float | None:
        rate = self.rate
        if rate is None:
            return None
        return max(0.0, (until - self.now()) / rate)

    def advance_to(self, when: float) -> None:
        self._now = max(self.now(), when)
        self._anchor = time.monotonic()


MIN_SPEED, MAX_SPEED = 0.001, 1e6  # beyond these a timer's real delay under- or overflows


def parse_speed(text: str) -> float | None:
    """`--speed 10` -> 10.0, `--speed max` -> None; anything else raises ValueError, whose
    message is the usage line's advice."""
    if text.strip().lower() == "max":
        return None
    advice = f"give a number from {MIN_SPEED:g} to {MAX_SPEED:g}, or max"
    try:
        value = float(text)
    except ValueError:
        raise ValueError(advice) from None
    if not (math.isfinite(value) and MIN_SPEED <= value <= MAX_SPEED):
        raise ValueError(advice)
    return value
