"""The dependency graph pane: a Line-API widget, so a 200-step runbook draws only what shows.

Lanes come from `lane_rows` once; each paint colours a row from the current state. The
selected step's needs and dependents are highlighted, the critical path has its own node. A
hybrid runbook's phases get a boundary row each, with the phase's state. A row that does not
fit the pane drops the state's word first (its glyph still tells it), so the time is never cut.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.journal.state import IncidentState, StepStatus
from warroom.runbook.graph import ancestors, descendants
from warroom.runbook.model import Runbook
from warroom.runbook.plan import critical_path
from warroom.tui.board import step_elapsed
from warroom.tui.glyphs import RESULT_STYLES, charset
from warroom.tui.diff_table import fit_words
from warroom.tui.lanes import LaneRow, lane_rows
from warroom.journal.text import visible

_LANE = Style(color="grey42")
_NEED = Style(color="black", bgcolor="dark_orange3")
_DEPENDENT = Style(color="black", bgcolor="steel_blue")
_SELECTED = Style(reverse=True, bold=True)
_DIM = Style(color="grey58")
_PHASE = Style(bold=True, underline=True)
LABEL_WIDTH, TIME_WIDTH = 10, 8
"""Cells of the state's word and of the elapsed time (H:MM:SS), each with its leading space."""


@dataclass
class StepSelected(Message):
    """The graph's cursor moved to another step."""

    step: str


class GraphView(ScrollView, can_focus=True):
    ALLOW_MAXIMIZE = True
    BINDINGS = [
        Binding("down,j", "move(1)", "Next step", show=False, id="graph.down"),
        Binding("up,k", "move(-1)", "Previous step", show=False, id="graph.up"),
        Binding("pagedown", "move(10)", "Page down", show=False, id="graph.pagedown"),
        Binding("pageup", "move(-10)", "Page up", show=False, id="graph.pageup"),
        Binding("home", "jump(0)", "First step", show=False, id="graph.home"),
        Binding("end", "jump(-1)", "Last step", show=False, id="graph.end"),
    ]

    def __init__(self, runbook: Runbook, state: IncidentState, *, now: float = 0.0, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runbook = runbook
        self.state = state
        self.now = now
        self.rows = lane_rows(runbook)
        self.index = {row.step: i for i, row in enumerate(self.rows)}
        self.lines = phase_lines(runbook, self.rows)
        self.line_of = {entry: y for y, entry in enumerate(self.lines) if isinstance(entry, int)}
        self.critical = set(critical_path(runbook))
        self.cursor = 0
        self.needs: set[str] = set()
        self.dependents: set[str] = set()
        self.lane_width = max((len(r.prefix) for r in self.rows), default=0) + 1
        self.id_width = max((len(r.step) for r in self.rows), default=4)
        self.virtual_size = Size(self.lane_width + 2 + self.id_width + TIME_WIDTH, len(self.lines))
        self._relate()

    @property
    def selected(self) -> str | None:
        return self.rows[self.cursor].step if self.rows else None

    def _relate(self) -> None:
        step = self.selected
        if step is None:
            return
        self.needs = ancestors(self.runbook, step)
        self.dependents = descendants(self.runbook, step)

    def select(self, step: str) -> None:
        if step in self.index:
            self._set_cursor(self.index[step])

    def _set_cursor(self, cursor: int) -> None:
        cursor = max(0, min(len(self.rows) - 1, cursor))
        if cursor == self.cursor:
            return
        self.cursor = cursor
        self._relate()
        self.scroll_to_region_of_cursor()
        self.refresh()
        self.post_message(StepSelected(self.rows[cursor].step))

    def scroll_to_region_of_cursor(self) -> None:
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height or 1
        line = self.line_of[self.cursor]
        if line - 1 <= top:  # a phase's boundary row shows with its first step
            self.scroll_to(y=max(0, line - 1 if isinstance(self.lines[line - 1], str) else line), animate=False)
        elif line >= top + height:
            self.scroll_to(y=line - height + 1, animate=False)

    def action_move(self, delta: int) -> None:
        self._set_cursor(self.cursor + delta)

    def action_jump(self, where: int) -> None:
        self._set_cursor(where if where >= 0 else len(self.rows) - 1)

    def on_click(self, event: object) -> None:
        offset = getattr(event, "y", None)
        if offset is not None and 0 <= self.scroll_offset.y + int(offset) < len(self.lines):
            entry = self.lines[self.scroll_offset.y + int(offset)]
            if isinstance(entry, int):
                self._set_cursor(entry)

    def show(self, state: IncidentState, now: float) -> None:
        self.state, self.now = state, now
        self.refresh()

    def show_times(self, running: Iterable[str], now: float) -> None:
        """Moves the running steps' elapsed times: only their visible lines are repainted."""
        self.now = now
        top, height, width = self.scroll_offset.y, self.scrollable_content_region.height, self.size.width
        for sid in running:
            row = self.index.get(sid)
            y = self.line_of[row] if row is not None else -1
            if top <= y < top + height:
                self.refresh(Region(0, y - top, width, 1))

    def row_text(self, y: int, width: int = 0) -> Text:
        """Row `y` (a step's index) in `width` cells (0: all of it): lanes, glyph, id, state,
        time; the state's word goes first when it does not fit, then the id is shortened."""
        row = self.rows[y]
        s = self.state.steps.get(row.step)
        status = s.status if s is not None else StepStatus.PENDING
        chars = charset()
        look = chars.looks[status]
        text = Text(no_wrap=True, overflow="ellipsis")
        node = chars.critical_node if row.step in self.critical else chars.node
        prefix = row.prefix.ljust(self.lane_width).translate(chars.lanes)
        text.append(prefix[: row.node], _LANE)
        text.append(node, look.style)
        text.append(prefix[row.node + 1:], _LANE)
        text.append(f"{look.glyph} ", look.style)
        name_style = _SELECTED if y == self.cursor else _NEED if row.step in self.needs else _DEPENDENT if row.step in self.dependents else Style()
        room = width - self.lane_width - 2 - TIME_WIDTH if width else self.id_width + LABEL_WIDTH
        show_label = room >= self.id_width + LABEL_WIDTH
        id_width = min(self.id_width, room) if not show_label else self.id_width
        name = row.step if len(row.step) <= id_width else row.step[: max(1, id_width - 1)] + chars.more[0]
        text.append(name.ljust(id_width), name_style)
        if show_label:
            text.append(f" {look.label:<{LABEL_WIDTH - 1}}", look.style)
        text.append(f" {step_elapsed(s, self.now) if s is not None else ''}", _DIM)
        return text

    def phase_text(self, phase_id: str, width: int) -> Text:
        """A phase's boundary row: its id and state (pending until it starts), then as much
        of its title as fits, cut after a word."""
        phase = next(p for p in self.runbook.phases if p.id == phase_id)
        shown = self.state.phases.get(phase_id, "pending")
        style = {r.value: st for r, st in RESULT_STYLES.items()}.get(shown, "grey62")
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{phase_id} ", _PHASE)
        text.append(f"[{shown.replace('_', ' ')}]", style)
        title = visible(phase.title or phase.mode.value)
        room = width - text.cell_len - 1
        if room >= 8:
            text.append(" " + fit_words(title, room), _DIM)
        return text

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        entry = self.lines[index]
        line = self.row_text(entry, width) if isinstance(entry, int) else self.phase_text(entry, width)
        segments = list(line.render(self.app.console))
        strip = Strip([s for s in segments if s.text != "\n"])
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, self.rich_style).apply_style(self.rich_style)



def phase_lines(runbook: Runbook, rows: list[LaneRow]) -> list[int | str]:
    """The graph's lines: each step row's index, with a phase id before a phase's first step
    (phases follow each other in the topological order, so each gets one boundary)."""
    lines: list[int | str] = []
    current: str | None = None
    for i, row in enumerate(rows):
        phase = runbook.step(row.step).phase if runbook.phases else None
        if phase is not None and phase != current:
            lines.append(phase)
        current = phase
        lines.append(i)
    return lines
