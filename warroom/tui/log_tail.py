"""The log tail: events and step output, batched in on a timer, filterable with `/`.

Output arrives at thousands of lines a second; lines are buffered and a timer writes them in
one `Log.write_lines` call, so the event loop paints once per batch, not once per line. Every
line passes through `visible`, and Log itself draws plain text: output is never interpreted.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Log

from warroom.journal.text import visible

KEEP_LINES = 20_000
"""Lines kept for re-filtering; the Log widget keeps the same number on screen."""
FLUSH_MAX = 800
"""Lines drawn per flush; a bigger burst shows its newest lines and says how many it passed
over (every line stays in the journal, and a step's detail view pages all of its output)."""


@dataclass(frozen=True, slots=True)
class Entry:
    step: str
    thread: str
    text: str


@dataclass(frozen=True)
class LineFilter:
    """`step:ID`, `thread:ID` or any text (case-insensitive substring); empty shows all."""

    step: str = ""
    thread: str = ""
    text: str = ""

    @classmethod
    def parse(cls, query: str) -> LineFilter:
        step = thread = ""
        words = []
        for word in query.split():
            if word.startswith("step:"):
                step = word[5:]
            elif word.startswith("thread:"):
                thread = word[7:]
            else:
                words.append(word)
        return cls(step, thread, " ".join(words).lower())

    def __bool__(self) -> bool:
        return bool(self.step or self.thread or self.text)

    def admits(self, entry: Entry) -> bool:
        if self.step and entry.step != self.step:
            return False
        if self.thread and entry.thread != self.thread:
            return False
        return not self.text or self.text in entry.text.lower()


class LogTail(Vertical, can_focus=False):
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False, id="log.clear_filter")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kept: deque[Entry] = deque(maxlen=KEEP_LINES)
        self.pending: list[Entry] = []
        self.filter = LineFilter()
        self.pinned_y = 0.0  # where the tail left the view; a view moved up is a person reading

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: text, step:ID or thread:ID (enter applies, esc clears)", id="log-filter")
        yield Log(max_lines=KEEP_LINES, id="log-lines")

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log-lines", Log)

    def add(self, step: str | None, thread: str | None, text: str) -> None:
        self.pending.append(Entry(step or "", thread or "", visible(text)))

    def flush(self) -> int:
        """Writes the buffered lines that pass the filter; returns how many were buffered."""
        if not self.pending:
            return 0
        batch, self.pending = self.pending, []
        self.kept.extend(batch)
        lines = [e.text for e in batch if self.filter.admits(e)] if self.filter else [e.text for e in batch]
        if len(lines) > FLUSH_MAX:
            passed = len(lines) - FLUSH_MAX
            lines = [f"… {passed:,} lines passed over (all in the journal: v on a step pages its output)", *lines[-FLUSH_MAX:]]
        if lines:
            self.write(lines)
        return len(batch)

    def write(self, lines: list[str]) -> None:
        """Appends and follows the end unless a person scrolled up to read: Log alone stops
        following for good once a resize leaves its view off the end."""
        log = self.log_widget
        follow = log.is_vertical_scroll_end or log.scroll_y >= self.pinned_y
        log.write_lines(lines, scroll_end=False)
        if follow:
            log.scroll_end(animate=False, immediate=True, x_axis=False)
            self.pinned_y = log.scroll_y

    def clear(self) -> None:
        """Forgets every line (a replay that jumped refills it from the journal)."""
        self.pending = []
        self.kept.clear()
        self.log_widget.clear()
        self.pinned_y = 0.0

    def set_filter(self, query: str) -> None:
        self.flush()
        self.filter = LineFilter.parse(query)
        self.log_widget.clear()
        self.pinned_y = 0.0
        self.write([e.text for e in self.kept if self.filter.admits(e)])
        self.border_subtitle = Text(f"filter: {visible(query)}") if self.filter else None

    def open_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_filter(event.value)
        event.input.remove_class("shown")
        self.log_widget.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#log-filter", Input)
        box.value = ""
        box.remove_class("shown")
        self.set_filter("")
        self.log_widget.focus()
