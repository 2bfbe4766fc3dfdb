"""Secret values are replaced where text enters the journal, before it is hashed or stored.

Redacting at the door means no later reader (export, the console, a replay, the WAL file
itself) can leak a value, because the value was never written. Output arrives in chunks, so
the streaming form holds back just enough text to catch a secret split across two chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"


class Redactor:
    """Replaces every registered secret value with `***`, whole text or chunk by chunk."""

    def __init__(self, secret_values: Iterable[str] = ()) -> None:
        values = sorted({v for v in secret_values if v}, key=len, reverse=True)
        self._values = values
        self._pattern = re.compile("|".join(map(re.escape, values))) if values else None
        self._keep = max((len(v) for v in values), default=1) - 1
        self._pending = ""

    def fork(self) -> Redactor:
        """A fresh streaming redactor for another stream, sharing the compiled pattern."""
        twin = Redactor.__new__(Redactor)
        twin._values, twin._pattern, twin._keep = self._values, self._pattern, self._keep
        twin._pending = ""
        return twin

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        if self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def redact_value(self, value: Any) -> Any:
        """Redacts strings anywhere inside a JSON-like value (dict keys included)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self._pattern.sub(MASK, value)
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_value(v) for v in value]
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
