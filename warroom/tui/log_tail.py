"""The log tail: events and step output, batched in on a timer, filterable with `/`.

Output arrives at thousands of lines a second; lines are buffered and a timer writes them in
one `Log.write_lines` call, so the event loop paints once per batch, not once per line. Every
line passes through `visible`, and Log itself draws plain text: output is never interpreted.
Lines are laid out for the pane's width (a narrow pane drops the thread and shortens the
step's id, so the message keeps the room), and re-laid when the pane is resized. Both the
kept lines and the Log's are capped: a firehose of output never grows the console's memory.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Log

from warroom.tui.diff_table import fit_words
from warroom.tui.glyphs import charset, clock
from warroom.journal.text import visible

KEEP_LINES = 5_000
"""Lines kept for re-filtering and re-laying; the Log widget keeps the same number."""
WIDE = 100
"""From this many cells the lines carry the thread and the whole step id."""
NARROW_STEP = 12
"""Cells of the step id on a narrow pane (longer ids are cut after a word)."""
FLUSH_MAX = 800
"""Lines drawn per flush; a bigger burst shows its newest lines and says how many it passed
over (every line stays in the journal, and a step's detail view pages all of its output)."""


def elapsed(mono: float, started_mono: float | None) -> str:
    """A line's time: since the incident started, MM:SS (H:MM:SS past the hour)."""
    return clock(mono - (started_mono or 0.0)) or "00:00"


@dataclass(frozen=True, slots=True)
class Entry:
    step: str
    thread: str
    when: str  # the elapsed time, H:MM:SS
    text: str
    output: bool = False  # a line the step printed (not an event)

    def line(self, width: int) -> str:
        if width >= WIDE:
            return f"{self.when:>7}  {self.thread[:10]:<10}  {(self.step or '-')[:24]:<24}  {self.text}"
        return f"{self.when:>7} {fit_words(self.step or '-', NARROW_STEP):<{NARROW_STEP}} {self.text}"


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
        return not self.text or self.text in entry.text.lower() or self.text in entry.step.lower()


class LogTail(Vertical, can_focus=False):
    ALLOW_MAXIMIZE = True
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter", show=False, id="log.clear_filter")]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kept: deque[Entry] = deque(maxlen=KEEP_LINES)
        self.pending: list[Entry] = []
        self.filter = LineFilter()
        self.pinned_y = 0.0  # where the tail left the view; a view moved up is a person reading
        self.width = 0  # the width the shown lines are laid out for

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter: text, step:ID or thread:ID (enter applies, esc clears)", id="log-filter")
        yield Log(max_lines=KEEP_LINES, id="log-lines")

    @property
    def log_widget(self) -> Log:
        return self.query_one("#log-lines", Log)

    def add(self, step: str | None, thread: str | None, when: str, text: str, *, output: bool = False) -> None:
        self.pending.append(Entry(step or "", thread or "", when, visible(text), output))

    def last_output(self, step: str, count: int) -> list[str]:
        """The newest `count` lines `step` printed that the tail still keeps, oldest first."""
        found: list[str] = []
        for entry in reversed([*self.kept, *self.pending]):
            if entry.output and entry.step == step:
                found.append(entry.text)
                if len(found) == count:
                    break
        return found[::-1]

    def on_resize(self) -> None:
        """Lays the kept lines out again when the pane's width crosses WIDE."""
        width = self.log_widget.size.width
        if (width >= WIDE) != (self.width >= WIDE):
            self.relay()

    def flush(self) -> int:
        """Writes the buffered lines that pass the filter; returns how many were buffered."""
        if not self.pending:
            return 0
        batch, self.pending = self.pending, []
        self.kept.extend(batch)
        width = self.width = self.log_widget.size.width
        lines = [e.line(width) for e in batch if self.filter.admits(e)]
        if len(lines) > FLUSH_MAX:
            passed = len(lines) - FLUSH_MAX
            lines = [f"{charset().more} {passed:,} lines passed over (all in the journal: v on a step pages its output)", *lines[-FLUSH_MAX:]]
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
        self.relay()
        self.border_subtitle = Text(f"filter: {visible(query)}") if self.filter else None

    def relay(self) -> None:
        """Shows the kept lines that pass the filter again, laid out for the pane's width."""
        self.log_widget.clear()
        self.pinned_y = 0.0
        width = self.width = self.log_widget.size.width
        self.write([e.line(width) for e in self.kept if self.filter.admits(e)])

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
