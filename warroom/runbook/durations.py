"""Durations as runbook authors write them ("90s", "5m", "1h30m", "250ms") and as people read them."""

from __future__ import annotations

import math
import re

MAX_SECONDS = 30 * 86400.0  # longer is a typo or hostile input, and overflows timers
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+")


class DurationError(ValueError):
    """A duration string that cannot be read; the message says what is accepted."""


def parse_duration(value: object) -> float:
    """Seconds from "90s", "5m", "1h30m", "250ms" or a bare number of seconds: finite, not
    negative, at most 30 days (a NaN once sent `plan` into an endless loop)."""
    if isinstance(value, bool):
        raise DurationError(f"expected a duration like 90s, 5m or 1h30m, got {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise DurationError(f"a duration cannot be negative, got {value!r}")
        seconds = float(min(value, MAX_SECONDS + 1))  # NaN stays NaN, a huge int is capped before float()
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if not _WHOLE.fullmatch(text):
            raise DurationError(f"bad duration {value!r}: write it like 90s, 5m, 1h30m or 250ms")
        seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
    else:
        what = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "nothing"
        raise DurationError(f"expected a duration like 90s, 5m or 1h30m, got {what}")
    if math.isnan(seconds):
        raise DurationError(f"a duration must be a number of seconds, got {value!r}")
    if seconds > MAX_SECONDS:
        raise DurationError(f"a duration can be at most 30d, got {value!r}")
    return seconds


def format_duration(seconds: float | None) -> str:
    """A short human form: 0s, 45s, 3m05s, 1h02m, with tenths below ten seconds."""
    if seconds is None:
        return "-"
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
