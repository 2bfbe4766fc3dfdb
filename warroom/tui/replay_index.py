"""A long incident's journal, as a replay reads it: positions mapped to rows, events paged in.

Holding a million events as objects costs seconds and a gigabyte, and even reading a million
seqs costs a second; a replay needs only the few events around its position. An incident's
rows are usually one run of seqs (the incidents table says so), so position i is seq
first_seq + i; only a journal where another incident ran between a run and its resume needs
the seqs read. A background thread (its own read-only connection) finds the notable events
for the scrubber, then folds the incident once with the one Reducer, keeping a checkpoint
every CHECKPOINT_EVERY events: a seek restores the nearest and folds at most that many.
"""

from __future__ import annotations

import copy
import threading
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState
from warroom.journal.reader import JournalReader, event_from_row

K = TypeVar("K")
PAGE = 2_048
"""Events read from the journal at a time (around the position)."""
CHECKPOINT_EVERY = 4_096
"""Events between two kept copies of the state: a seek folds at most this many."""


def copy_state(state: IncidentState) -> IncidentState:
    """A deep copy that shares the (frozen) runbook."""
    memo: dict[int, Any] = {id(state.runbook): state.runbook} if state.runbook is not None else {}
    return copy.deepcopy(state, memo)


class ReplayIndex(Generic[K]):
    """Positions 0..n-1 of one incident's events: pages of them read on demand, the notable
    ones (position, kind, time) and the checkpoints, both found in the background."""

    def __init__(self, journal: str, incident: str, notable: Mapping[str, K],
                 *, checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        self.journal = journal
        self.incident = incident
        self.notable = notable
        self.checkpoint_every = checkpoint_every
        self.reader = JournalReader(journal)
        self._page: list[Event] = []
        self._page_at = 0
        info = self.reader.resolve(incident)
        self.first_seq, self.count = info.first_seq, info.events
        self.seqs: array[int] | None = None  # only when the incident's seqs have gaps
        if info.last_seq - info.first_seq + 1 != info.events:
            self.seqs = array("q")
            for chunk in self.reader.seqs(incident):
                self.seqs.extend([seq for (seq,) in chunk])
            self.count = len(self.seqs)
        self.start_mono = self.mono(0) if self.count else 0.0
        self.end_mono = self.mono(self.count - 1) if self.count else 0.0
        self.marks: list[tuple[int, K, float]] = []
        self.checkpoints: dict[int, IncidentState] = {}
        self.final: IncidentState | None = None
        self._stop = threading.Event()
        self._folded = threading.Condition()
        self._folding = False
        self._folder: threading.Thread | None = None

    def __len__(self) -> int:
        return self.count

    def seq_of(self, i: int) -> int:
        return self.seqs[i] if self.seqs is not None else self.first_seq + i

    def position_of(self, seq: int) -> int:
        return bisect_left(self.seqs, seq) if self.seqs is not None else seq - self.first_seq

    def event(self, i: int) -> Event:
        """The event at position `i` (0-based), from the page that holds it."""
        if not self._page_at <= i < self._page_at + len(self._page):
            start = max(0, i - PAGE // 4)  # a little behind too: stepping back stays in the page
            rows = self.reader.rows_from(self.incident, self.seq_of(start), PAGE)
            self._page = [event_from_row(self.reader.path, row) for row in rows]
            self._page_at = start
        return self._page[i - self._page_at]

    def events(self, start: int, stop: int) -> list[Event]:
        return [self.event(i) for i in range(max(0, start), min(stop, len(self)))]

    def rows(self, start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        """The raw rows at positions start..stop-1, read a page at a time, for folding many."""
        start, stop = max(0, start), min(stop, len(self))
        while start < stop:
            rows = self.reader.rows_from(self.incident, self.seq_of(start), min(PAGE, stop - start))
            if not rows:
                return
            yield from rows
            start += len(rows)

    def mono(self, i: int) -> float:
        """When the event at position `i` happened (a one-row read outside the page)."""
        if self._page_at <= i < self._page_at + len(self._page):
            return self._page[i - self._page_at].mono
        return float(self.reader.rows_from(self.incident, self.seq_of(i), 1)[0][3])

    def nearest_checkpoint(self, k: int, behind: int) -> int:
        """The largest kept position at or before `k` (0: none, fold from the start). When
        the background fold has yet to reach it and `behind` (the caller's own position) is
        further back, waits for the fold: it goes faster alone than with a second fold."""
        n = k - k % self.checkpoint_every
        with self._folded:
            while n > behind + self.checkpoint_every and n not in self.checkpoints and self._folding:
                self._folded.wait()
        while n > 0 and n not in self.checkpoints:
            n -= self.checkpoint_every
        return n

    def start_background(self) -> None:
        self._folding = True
        self._folder = threading.Thread(target=self._background, name="replay-index", daemon=True)
        self._folder.start()

    def _background(self) -> None:
        """The notable events first (the scrubber's marks), then one fold of the incident
        with a checkpoint every `checkpoint_every` events and the end state."""
        reducer = Reducer()
        done = 0
        with JournalReader(self.journal) as reader:
            found = reader.rows_of_types(self.incident, list(self.notable))
            self.marks = [(self.position_of(seq), self.notable[type_], mono) for seq, mono, type_ in found]
            while done < len(self) and not self._stop.is_set():
                rows = reader.rows_from(self.incident, self.seq_of(done), self.checkpoint_every - done % self.checkpoint_every)
                if not rows:
                    break
                reducer.apply_rows(rows)
                done += len(rows)
                if done % self.checkpoint_every == 0:
                    with self._folded:
                        self.checkpoints[done] = copy_state(reducer.state)
                        self._folded.notify_all()
        if done >= len(self):
            self.final = reducer.state
        with self._folded:
            self._folding = False
            self._folded.notify_all()

    def wait(self) -> None:
        """Blocks until the background work has ended (tests and the benchmark)."""
        if self._folder is not None:
            self._folder.join()

    def close(self) -> None:
        self._stop.set()
        self.wait()
        self.reader.close()
