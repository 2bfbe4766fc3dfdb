"""The replay's timeline scrubber: one line across the screen, the incident's time from left
to right, notable events marked, the position as a bright cursor; a click seeks there.

Cells map time, not event counts, so a quiet hour looks long and a burst of output looks short,
as the people in the incident lived it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from warroom.tui.glyphs import charset
from warroom.tui.session import Notable, ReplaySession

MARK_STYLES: dict[Notable, str] = {
    Notable.FAILURE: "bold red", Notable.APPROVAL: "bold yellow", Notable.CLAIM: "bold cyan", Notable.NOTE: "bold magenta",
}
PRIORITY = (Notable.NOTE, Notable.CLAIM, Notable.APPROVAL, Notable.FAILURE)
"""Later wins when two kinds share a cell: a failure is never hidden by a note."""


@dataclass
class SeekTo(Message):
    """A person clicked the scrubber: show the state after `position` events."""

    position: int


class Scrubber(Widget):
    DEFAULT_CSS = "Scrubber { height: 1; }"

    def __init__(self, session: ReplaySession, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session = session

    def cell_of(self, index: int, mono: float, width: int) -> int:
        """The cell of the event at position `index`, which happened at `mono`."""
        start, end = self.session.index.start_mono, self.session.index.end_mono
        if end > start:
            return int((mono - start) / (end - start) * (width - 1))
        return int(index / max(1, self.session.total - 1) * (width - 1))

    def render(self) -> Text:
        width = self.size.width
        session = self.session
        if width < 2 or not session.total:
            return Text()
        cursor = self.cell_of(max(0, session.position - 1), session.now(), width)
        marks: dict[int, Notable] = {}
        for index, kind, mono in session.marks:
            cell = self.cell_of(index, mono, width)
            held = marks.get(cell)
            if held is None or PRIORITY.index(kind) > PRIORITY.index(held):
                marks[cell] = kind
        chars = charset()
        glyphs = dict(zip((Notable.FAILURE, Notable.APPROVAL, Notable.CLAIM, Notable.NOTE), chars.marks, strict=True))
        line = Text(no_wrap=True, overflow="crop")
        for cell in range(width):
            played = cell <= cursor
            if cell in marks:
                glyph, style = glyphs[marks[cell]], MARK_STYLES[marks[cell]]
            else:
                glyph, style = (chars.played, "cyan") if played else (chars.unplayed, "grey42")
            if cell in marks and not played:
                style = style.replace("bold ", "")
            if cell == cursor:
                glyph, style = (glyph, f"reverse {style}") if cell in marks else (chars.cursor, "bold white")
            line.append(glyph, style)
        return line

    def on_click(self, event: events.Click) -> None:
        width = self.size.width
        if width < 2 or not self.session.total:
            return
        total = self.session.total  # cells grow with time: the last event drawn at or before x
        mono = self.session.index.mono
        reached = bisect_right(range(total), event.x, key=lambda i: self.cell_of(i, mono(i), width))
        self.post_message(SeekTo(max(1, reached)))
