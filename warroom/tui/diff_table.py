"""A DataTable kept in step with a dict of rows by diff: changed cells, added and removed rows.

Clearing and refilling a table on every tick loses the cursor and scroll position and costs a
full relayout; the lock board and the thread panels change a few cells at a time. Columns have
fixed widths, chosen from the runbook: they do not jump as content comes and goes, and what
the table looks like depends on the state alone, not on which states happened to be drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.widgets import DataTable

Row = tuple[Text, ...]


class DiffTable(DataTable[Text]):
    """Rows are keyed; `sync` makes the table show exactly `rows` (new keys go last).
    `columns` are (name, width) pairs; longer cells end in an ellipsis."""

    def __init__(self, columns: Sequence[tuple[str, int]], *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False, show_cursor=False)
        self.columns_spec = tuple(columns)
        self.column_names = tuple(name for name, _ in columns)
        self.shown: dict[str, Row] = {}

    def on_mount(self) -> None:
        for name, width in self.columns_spec:
            self.add_column(name, key=name, width=max(width, len(name)))

    def sync(self, rows: Mapping[str, Row]) -> bool:
        """Applies the difference; True when anything changed."""
        changed = False
        for key in [k for k in self.shown if k not in rows]:
            self.remove_row(key)
            del self.shown[key]
            changed = True
        for key, cells in rows.items():
            old = self.shown.get(key)
            if old is None:
                self.add_row(*cells, key=key)
                changed = True
            elif old != cells:
                for name, before, after in zip(self.column_names, old, cells):
                    if before != after:
                        self.update_cell(key, name, after)
                changed = True
            self.shown[key] = cells
        return changed

    def set_cell(self, key: str, column: str, cell: Text) -> None:
        """One cell of a shown row, for a value that moves between syncs (a running time)."""
        old = self.shown.get(key)
        if old is None:
            return
        i = self.column_names.index(column)
        if old[i] != cell:
            self.update_cell(key, column, cell)
            self.shown[key] = (*old[:i], cell, *old[i + 1:])
