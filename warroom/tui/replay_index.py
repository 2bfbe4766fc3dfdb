"""A long incident's journal, as a replay reads it: an index in, the events paged on demand.

Holding a million events as objects costs seconds and a gigabyte; a replay needs only where
each event sits (its seq and time, packed in arrays), which are notable, and the few events
around the position. State checkpoints are folded from the journal on a background thread
with the one Reducer, so a seek anywhere restores the nearest and folds at most
CHECKPOINT_EVERY events on the spot.
"""

from __future__ import annotations

import copy
import threading
from array import array
from bisect import bisect_left
from collections.abc import Mapping
from typing import Any

from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState
from warroom.journal.store import JournalReader, event_from_row

PAGE = 2_048
"""Events read from the journal at a time (around the position)."""
CHECKPOINT_EVERY = 4_096
"""Events between two kept copies of the state: a seek folds at most this many."""


def copy_state(state: IncidentState) -> IncidentState:
    """A deep copy that shares the (frozen) runbook."""
    memo: dict[int, Any] = {id(state.runbook): state.runbook} if state.runbook is not None else {}
    return copy.deepcopy(state, memo)


class ReplayIndex:
    """Positions 0..n-1 of one incident's events: their seqs and times, notable kinds, pages
    of events read on demand, and the checkpoints the background folder has kept."""

    def __init__(self, journal: str, incident: str, notable: Mapping[str, Any],
                 *, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.journal = journal
        self.incident = incident
        self.checkpoint_every = checkpoint_every
        self.reader = JournalReader(journal)
        chunks, kinds = self.reader.outline(incident, list(notable))
        self.seqs, self.monos = array("q"), array("d")
        for chunk in chunks:
            self.seqs.extend([seq for seq, _ in chunk])
            self.monos.extend([mono for _, mono in chunk])
        self.marks: list[tuple[int, Any]] = [(bisect_left(self.seqs, seq), notable[type_]) for seq, type_ in kinds]
        self.checkpoints: dict[int, IncidentState] = {}
        self.final: IncidentState | None = None
        self._page: list[Event] = []
        self._page_at = 0
        self._stop = threading.Event()
        self._folder: threading.Thread | None = None

    def __len__(self) -> int:
        return len(self.seqs)

    def event(self, i: int) -> Event:
        """The event at position `i` (0-based), from the page that holds it."""
        if not self._page_at <= i < self._page_at + len(self._page):
            start = max(0, i - PAGE // 4)  # a little behind too: stepping back stays in the page
            rows = self.reader.rows_from(self.incident, self.seqs[start], PAGE)
            self._page = [event_from_row(self.reader.path, row) for row in rows]
            self._page_at = start
        return self._page[i - self._page_at]

    def events(self, start: int, stop: int) -> list[Event]:
        return [self.event(i) for i in range(max(0, start), min(stop, len(self)))]

    def nearest_checkpoint(self, k: int) -> int:
        """The largest kept position at or before `k` (0: none, fold from the start)."""
        n = k - k % self.checkpoint_every
        while n > 0 and n not in self.checkpoints:
            n -= self.checkpoint_every
        return n

    def start_folding(self) -> None:
        """Folds the whole incident once on a background thread (its own read-only
        connection), keeping a checkpoint every `checkpoint_every` events and the end state."""
        self._folder = threading.Thread(target=self._fold_all, name="replay-checkpoints", daemon=True)
        self._folder.start()

    def _fold_all(self) -> None:
        reducer = Reducer()
        done = 0
        with JournalReader(self.journal) as reader:
            while done < len(self) and not self._stop.is_set():
                rows = reader.rows_from(self.incident, self.seqs[done], self.checkpoint_every)
                if not rows:
                    break
                reducer.apply_rows(rows)
                done += len(rows)
                if done % self.checkpoint_every == 0:
                    self.checkpoints[done] = copy_state(reducer.state)
        if done >= len(self):
            self.final = reducer.state

    def wait_folded(self) -> None:
        """Blocks until the background fold has ended (tests and the benchmark)."""
        if self._folder is not None:
            self._folder.join()

    def close(self) -> None:
        self._stop.set()
        self.wait_folded()
        self.reader.close()
