"""Reading a journal: read-only, beside a live writer, never taking the lock.

Every reader (list, export, verify, report, replay, resume's fold, another console) opens the
file through `check_file`, so a path that cannot be a journal gets one sentence before SQLite
sees it, and a symlink is never followed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from warroom.journal.anchors import behind, read_heads
from warroom.journal.chain import GENESIS, ChainReport, IncidentInfo, journal_key, verify_rows
from warroom.journal.errors import JournalError
from warroom.journal.events import Event
from warroom.journal.files import reader_check
from warroom.journal.reducer import Reducer
from warroom.journal.schema import check_header, check_identity, damaged
from warroom.journal.state import IncidentState

FETCH_CHUNK = 8192
COLUMNS = "seq, incident, ts, mono, actor, type, step, data, prev_hash, hash"


def check_file(path: Path) -> None:
    """Refuses, with one sentence, a path that cannot be a journal (before SQLite sees it)."""
    reader_check(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            header = os.pread(fd, 100, 0)
        finally:
            os.close(fd)
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror}") from None
    check_header(path, header)


class JournalReader:
    """A read-only view of a journal; safe beside a live writer, never takes the lock.

    A journal on read-only media (a cleanly closed one, with no -wal) is opened immutable:
    SQLite cannot create the -shm a WAL reader otherwise needs there."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        check_file(self.path)
        try:
            self._conn = self._connect("mode=ro")
        except sqlite3.OperationalError as exc:
            if Path(f"{self.path}-wal").exists():
                raise damaged(self.path, exc) from None
            try:
                self._conn = self._connect("immutable=1")
            except sqlite3.Error as again:
                raise damaged(self.path, again) from None
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def _connect(self, flags: str) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path.absolute().as_uri() + "?" + flags, uri=True)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            check_identity(self.path, app_id, version)
        except BaseException:
            conn.close()
            raise
        return conn

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def incidents(self) -> list[IncidentInfo]:
        """Every incident in the journal, oldest first."""
        return [IncidentInfo(*row) for row in self._all(
            "SELECT id, runbook, started_ts, first_seq, last_seq, head_hash, events "
            "FROM incidents ORDER BY first_seq")]

    def resolve(self, incident: str | None) -> IncidentInfo:
        """The named incident, or the latest one when `incident` is None."""
        known = self.incidents()
        if not known:
            raise JournalError(f"{self.path}: the journal holds no incidents yet")
        if incident is None:
            return known[-1]
        for info in known:
            if info.id == incident:
                return info
        raise JournalError(
            f"{self.path}: no incident {incident!r} (latest: {known[-1].id}; see warroom list)"
        )

    def rows(self, incident: str) -> Iterator[tuple[Any, ...]]:
        """Raw rows of one incident in seq order (data still JSON text), read in chunks."""
        try:
            cur = self._conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE incident = ? ORDER BY seq", (incident,)
            )
            while chunk := cur.fetchmany(FETCH_CHUNK):
                yield from chunk
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def rows_from(self, incident: str, first_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` raw rows of one incident from seq `first_seq` on, in seq order: a
        replay pages through a long incident instead of holding it."""
        try:
            return self._conn.execute(
                f"SELECT {COLUMNS} FROM events WHERE incident = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (incident, first_seq, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def seqs(self, incident: str) -> Iterator[list[tuple[int]]]:
        """Chunks of the seqs of one incident's rows, in order (a replay's index, when a
        resume after another incident left gaps in them)."""
        try:
            cur = self._conn.execute("SELECT seq FROM events WHERE incident = ? ORDER BY seq", (incident,))
            while chunk := cur.fetchmany(FETCH_CHUNK):
                yield chunk
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def rows_of_types(self, incident: str, types: Sequence[str]) -> list[tuple[int, float, str]]:
        """(seq, mono, type) of one incident's rows whose type is in `types`, in order."""
        marks = ", ".join("?" * len(types))
        try:
            return self._conn.execute(
                f"SELECT seq, mono, type FROM events WHERE incident = ? AND type IN ({marks}) ORDER BY seq",
                (incident, *types),
            ).fetchall()
        except sqlite3.Error as exc:
            raise damaged(self.path, exc) from None

    def events(self, incident: str) -> Iterator[Event]:
        for row in self.rows(incident):
            yield event_from_row(self.path, row)

    def fold(self, incident: str | None = None) -> Reducer:
        """The incident (latest when None) folded by the one reducer, which a runner may go
        on folding into."""
        reducer = Reducer()
        reducer.apply_rows(self.rows(self.resolve(incident).id))
        return reducer

    def state(self, incident: str | None = None) -> IncidentState:
        return self.fold(incident).state

    def verify(self, incident: str | None = None, *, expect: str | None = None) -> ChainReport:
        """One incident's chain, checked against its index entry (with WARROOM_JOURNAL_KEY
        for a keyed incident); `expect`: a pinned head to look for in it."""
        info = self.resolve(incident)
        return verify_rows(info.id, self.rows(info.id), index=info, key=journal_key(),
                           expect=expect)

    def verify_all(self, *, expect: str | None = None) -> list[ChainReport]:
        """Every incident's chain, plus rows that belong to no known incident."""
        reports = [self.verify(info.id, expect=expect) for info in self.incidents()]
        orphans = self._all("SELECT incident, min(seq) FROM events WHERE incident NOT IN "
                            "(SELECT id FROM incidents) GROUP BY incident ORDER BY 2")
        reports += [ChainReport(str(inc), 0, GENESIS, seq, "a row of an incident the index "
                                "does not know") for inc, seq in orphans]
        return reports

    def integrity(self) -> list[str]:
        """SQLite's own integrity check of the whole file: empty when sound."""
        problems = [row[0] for row in self._all("PRAGMA integrity_check")]
        return [] if problems == ["ok"] else problems

    def anchor_warnings(self) -> list[str]:
        """What `<db>.head` says this journal has lost (see anchors.py); for list and resume."""
        recorded = read_heads(self.path)
        hashes = {}
        for incident, (seq, _) in recorded.items():
            found = self._all("SELECT hash FROM events WHERE incident = ? AND seq = ?", (incident, seq))
            if found:
                hashes[(incident, seq)] = found[0][0]
        return behind(self.path, self.incidents(), hashes)


def event_from_row(path: Path, row: tuple[Any, ...]) -> Event:
    try:
        data = json.loads(row[7])
    except (TypeError, ValueError):
        raise JournalError(f"{path}: row seq {row[0]} is damaged (data is not JSON); "
                           "run warroom verify") from None
    return Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6], data, row[8], row[9])
