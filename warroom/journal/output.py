"""Step output as journal rows: bounded in size, always storable, redacted before this.

A line longer than LINE_LIMIT characters, or a stream that prints no newline at all, is
journaled as several rows as it grows, so neither the runner's memory nor one row grows with
it. Every row of such a line but the last carries `"more": true` in its data: the next
output row of the same step and stream continues the same line. Text a process printed that
is not UTF-8 arrives with its bytes escaped as `\\xNN` (the engine decodes with
backslashreplace); lone surrogates from any other caller are escaped the same way here,
since neither SQLite nor the hash can store them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring

from warroom.journal.redact import Redactor

LINE_LIMIT = 64 * 1024


def storable(line: str) -> str:
    """`line` with lone surrogates (undecodable bytes kept by surrogateescape) as `\\xNN`."""
    try:
        line.encode()
    except UnicodeEncodeError:
        return line.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return line


def output_rows(stream: str, line: str, *, more: bool = False) -> Iterator[tuple[str, str]]:
    """(data text, piece) of each row one line takes; `more`: the line goes on in a later
    call, so its last row is marked too. The data text is canonical JSON (sorted keys)."""
    if not line.isascii():
        line = storable(line)
    name = encode_basestring(stream)
    for start in range(0, max(len(line), 1), LINE_LIMIT):
        piece = line[start:start + LINE_LIMIT]
        marked = more or start + LINE_LIMIT < len(line)
        mark = '"more":true,' if marked else ""
        yield f'{{{mark}"stream":{name},"text":{encode_basestring(piece)}}}', piece


@dataclass
class OutputStream:
    """A chunked stream's unfinished line, kept as pieces: joining on every chunk would be
    quadratic in a long line."""

    redactor: Redactor
    pieces: list[str] = field(default_factory=list)
    size: int = 0

    def take(self) -> str:
        text = "".join(self.pieces)
        self.pieces, self.size = [], 0
        return text
