"""Secret values are replaced where text enters the journal, before it is hashed or stored.

Redacting at the door means no later reader (export, the console, a replay, the WAL file
itself) can leak a value, because the value was never written. Output arrives in chunks, so
the streaming form holds back just enough text to catch a secret split across two chunks.

A secret is matched in every form it can take on the way in, not only as typed: shell-quoted
(a script or a tool echoing its argv), JSON-escaped (a step printing JSON, which a `json:`
output then parses), and as a number (a digits-only secret captured by `json:` or given as
`--var` to a numeric var arrives as an int, which no text pattern sees). Numbers are masked
only where values live, under `vars` and `outputs` keys: elsewhere a number is the journal's
own structure (an attempt, a duration, the embedded runbook's timeout or max_parallel), and
masking it would break every later fold of the journal.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from collections.abc import Iterable
from typing import Any

MASK = "***"
VALUE_KEYS = frozenset({"vars", "outputs"})  # mappings whose numbers may be a secret


class Redactor:
    """Replaces every registered secret value with `***`, whole text or chunk by chunk."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        secrets = {v for v in secret_values if v}
        values = sorted({form for v in secrets for form in _forms(v)}, key=len, reverse=True)
        self._values = values
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None
        self._numbers = frozenset(n for v in secrets for n in _numbers(v))
        self._keep = max((len(v) for v in values), default=1) - 1
        self._pending = ""

    def fork(self) -> Redactor:
        """A fresh streaming redactor for another stream, sharing the compiled pattern."""
        twin = Redactor.__new__(Redactor)
        twin._values, twin._pattern, twin._keep = self._values, self._pattern, self._keep
        twin._numbers = self._numbers
        twin._pending = ""
        return twin

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def redact_value(self, value: Any, *, numbers: bool = False) -> Any:
        """Redacts strings anywhere inside a JSON-like value (dict keys included), and
        numbers equal to a numeric secret inside `vars` and `outputs` (or all of `value`
        when `numbers`)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self._pattern.sub(MASK, value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return MASK if numbers and value in self._numbers else value
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_value(v, numbers=numbers or k in VALUE_KEYS)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v, numbers=numbers) for v in value]
        return value

    def feed(self, chunk: str) -> str:
        """Redacted text that is safe to release now; a tail shorter than the longest secret
        is kept back until the next chunk (or `flush`) shows whether it starts a secret."""
        if self._pattern is None:
            return chunk
        text = self._pending + chunk
        cut = len(text) - self._keep
        parts: list[str] = []
        pos = 0
        for match in self._pattern.finditer(text):
            if match.start() >= cut:
                break
            parts.append(text[pos : match.start()])
            parts.append(MASK)
            pos = match.end()
        release = max(cut, pos)
        parts.append(text[pos:release])
        self._pending = text[release:]
        return "".join(parts)

    def flush(self) -> str:
        """Everything still held back, redacted: call it when the stream ends."""
        text, self._pending = self._pending, ""
        return self.redact(text)


def _forms(secret: str) -> set[str]:
    """The texts a secret can be journaled as: raw, shell-quoted (both usual spellings of an
    embedded `'`) and JSON-escaped (with and without non-ASCII escaped)."""
    return {
        secret,
        shlex.quote(secret),
        secret.replace("'", "'\\''"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    } - {""}


def _numbers(secret: str) -> set[int | float]:
    """The numbers a digits-only (or decimal) secret becomes when it is parsed as one."""
    text = secret.strip()
    found: set[int | float] = set()
    try:
        found.add(int(text))
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return found
    if math.isfinite(number):
        found.add(number)
    return found
