"""A DataTable kept in step with a dict of rows by diff: changed cells, added and removed rows.

Clearing and refilling a table on every tick loses the cursor and scroll position and costs a
full relayout; the lock board and the thread panels change a few cells at a time. Columns are
sized from the runbook and the pane's width, never from what happens to be shown, so they do
not jump as content comes and goes: fixed columns keep their width, flexible ones share the
rest, and when even their minimums do not fit, the columns marked droppable go (the pane
maximized with `z` shows them). A cell longer than its column is cut at a word boundary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from warroom.tui.glyphs import charset

Row = tuple[Text, ...]
GAP = 1
"""Blank cells after each column (the table's own padding is off: it costs two per column)."""


@dataclass(frozen=True)
class Col:
    name: str
    width: int  # preferred (fixed columns: exact)
    flex: bool = False  # shares the room left; never narrower than `least`
    least: int = 0
    drop: int = 0  # >0: may go when the pane is too narrow; the highest goes first


def fit(columns: Sequence[Col], width: int) -> dict[str, int]:
    """Column name -> cells (its gap not included) for a pane `width` cells wide; dropped
    columns are absent. Flexible columns grow in order up to their preferred width, and the
    last one takes whatever is left, so the table fills the pane."""
    active = list(columns)

    def least(c: Col) -> int:
        return max(c.least, len(c.name)) if c.flex else max(c.width, len(c.name))

    while sum(least(c) + GAP for c in active) > width and any(c.drop for c in active):
        active.remove(max((c for c in active if c.drop), key=lambda c: c.drop))
    widths = {c.name: least(c) for c in active}
    room = width - sum(w + GAP for w in widths.values())
    flexible = [c for c in active if c.flex]
    for c in flexible:
        grow = max(0, min(room, c.width - widths[c.name]))
        widths[c.name] += grow
        room -= grow
    if flexible and room > 0:
        widths[flexible[-1].name] += room
    return widths


def _cut(plain: str, width: int, more: str) -> int:
    """Where to cut `plain` so it and `more` fit `width`: after the last word (or the last
    hyphen of an id) that fits, or mid-word only when not even one word does."""
    room = width - len(more)
    cut = max(plain.rfind(" ", 0, room + 1), plain.rfind("-", 0, room) + 1)
    return cut if cut > 0 else max(0, room)


def fit_words(plain: str, width: int) -> str:
    """`plain` in `width` characters, cut at a word boundary with an ellipsis."""
    if len(plain) <= width:
        return plain
    more = charset().more
    return plain[: _cut(plain, width, more)].rstrip() + more


def shorten(cell: Text, width: int) -> Text:
    """`cell` in `width` cells, cut at a word boundary with an ellipsis."""
    if cell.cell_len <= width or width <= 0:
        return cell
    more = charset().more
    short = cell[: _cut(cell.plain, width, more)]
    short.rstrip()
    short.append(more, cell.style)
    return short


class DiffTable(DataTable[Text]):
    """Rows are keyed; `sync` makes the table show exactly `rows` (new keys go last)."""

    DEFAULT_CSS = """
    DiffTable { overflow-x: hidden; }
    """
    """The columns are fitted to the width: a horizontal scrollbar, shown for a moment before
    the first fit, would take a row of an auto-height pane (the snapshots saw it at random)."""

    def __init__(self, columns: Sequence[Col], *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False, show_cursor=False,
                         cell_padding=0)
        self.columns_spec = tuple(columns)
        self.column_names = tuple(c.name for c in columns)
        self.widths: dict[str, int] = {}
        self.shown: dict[str, Row] = {}

    @property
    def hidden(self) -> list[str]:
        """The columns the pane is too narrow for."""
        return [name for name in self.column_names if self.widths and name not in self.widths]

    def on_mount(self) -> None:
        self.lay_out(sum(c.width + GAP for c in self.columns_spec))

    def on_resize(self, event: events.Resize) -> None:
        """Re-fits the columns to the content width; the room of a vertical scrollbar is kept
        whether it shows or not, so rows coming and going never re-fit them."""
        self.lay_out(self.size.width - self.styles.scrollbar_size_vertical)

    def lay_out(self, width: int) -> None:
        """Sizes the columns for `width` cells and redraws the rows in them (when it changed)."""
        widths = fit(self.columns_spec, width)
        if widths == self.widths:
            return
        self.widths = widths
        self.clear(columns=True)
        for name in self.column_names:
            if name in widths:
                self.add_column(name, key=name, width=widths[name] + GAP)
        for key, cells in self.shown.items():
            self.add_row(*self._cells(cells), key=key)

    def _cells(self, cells: Row) -> list[Text]:
        return [shorten(cell, self.widths[name]) for name, cell in zip(self.column_names, cells) if name in self.widths]

    def sync(self, rows: Mapping[str, Row]) -> bool:
        """Applies the difference; True when anything changed."""
        changed = False
        count = len(self.shown)
        for key in [k for k in self.shown if k not in rows]:
            self.remove_row(key)
            del self.shown[key]
            changed = True
        for key, cells in rows.items():
            old = self.shown.get(key)
            if old is None:
                self.add_row(*self._cells(cells), key=key)
                changed = True
            elif old != cells:
                for name, before, after in zip(self.column_names, old, cells):
                    if before != after and name in self.widths:
                        self.update_cell(key, name, shorten(after, self.widths[name]))
                changed = True
            self.shown[key] = cells
        if len(self.shown) != count:
            self.refresh(layout=True)  # an auto-height pane grows and shrinks with its rows
        return changed

    def set_cell(self, key: str, column: str, cell: Text) -> None:
        """One cell of a shown row, for a value that moves between syncs (a running time)."""
        old = self.shown.get(key)
        if old is None:
            return
        i = self.column_names.index(column)
        if old[i] != cell:
            if column in self.widths:
                self.update_cell(key, column, shorten(cell, self.widths[column]))
            self.shown[key] = (*old[:i], cell, *old[i + 1:])
