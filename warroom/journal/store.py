"""The SQLite event store: one durable writer per journal file, any number of readers.

The writer is the only connection that ever writes (SQLite 3.40 has the WAL-reset bug with
concurrent writers), so it assigns seq and the hash chain in memory and commits in groups:
every event ready at the moment of a commit goes into one synchronous=FULL transaction.
Output lines are buffered and ride along with the next commit (or the flush timer), always
ahead of the state event that follows them. Readers open read-only and never take the lock.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
from json.encoder import encode_basestring

from warroom.journal.chain import (
    GENESIS, ChainReport, body_json, encode_data, row_hash, verify_rows,
)
from warroom.journal.errors import JournalError, JournalLocked
from warroom.journal.events import ENGINE, Event, EventType, NewEvent
from warroom.journal.reducer import Reducer
from warroom.journal.redact import Redactor
from warroom.journal.state import IncidentState
from warroom.runbook.model import Runbook, runbook_digest

SCHEMA_VERSION = 1
APPLICATION_ID = 0x57415252  # "WARR": marks the file as a warroom journal
SQLITE_MAGIC = b"SQLite format 3\x00"
FETCH_CHUNK = 8192

_SCHEMA = f"""
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    started_ts REAL NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    events INTEGER NOT NULL
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    incident TEXT NOT NULL,
    ts REAL NOT NULL,
    mono REAL NOT NULL,
    actor TEXT NOT NULL,
    type TEXT NOT NULL,
    step TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX events_by_incident ON events (incident, seq);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""
_INSERT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_COLUMNS = "seq, incident, ts, mono, actor, type, step, data, prev_hash, hash"


@dataclass(frozen=True)
class IncidentInfo:
    """An incident as the index knows it, before folding its events."""

    id: str
    runbook: str
    started_ts: float
    first_seq: int
    last_seq: int
    head_hash: str
    events: int


def check_file(path: Path) -> None:
    """Refuses, with one sentence, a path that cannot be a journal (before SQLite sees it)."""
    if not path.exists():
        raise JournalError(f"{path}: no journal here (run a runbook first, or pass --journal)")
    if not path.is_file():
        raise JournalError(f"{path}: not a journal file")
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise JournalError(f"{path}: cannot read the journal: {exc.strerror}") from None
    if not header:
        raise JournalError(f"{path}: the file is empty, not a warroom journal")
    if not header.startswith(SQLITE_MAGIC[: len(header)]) or len(header) < 16:
        raise JournalError(f"{path}: not a warroom journal (not an SQLite database)")
    if len(header) < 100:
        raise JournalError(f"{path}: the journal is truncated")


def _check_identity(path: Path, app_id: int, version: int, *, blank_ok: bool) -> None:
    """`blank_ok`: a writer may initialize an SQLite file that holds nothing yet."""
    if app_id != APPLICATION_ID:
        if app_id == 0 and blank_ok:
            return
        raise JournalError(f"{path}: not a warroom journal (an SQLite database of another program)")
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise JournalError(
            f"{path}: journal format version {version}, this warroom reads version "
            f"{SCHEMA_VERSION}" + ("; use a newer warroom" if newer else "; it cannot be upgraded")
        )


def _damaged(path: Path, exc: sqlite3.Error) -> JournalError:
    return JournalError(f"{path}: the journal is damaged or truncated ({exc})")


def incident_id(runbook_id: str, ts: float, taken: set[str] | None = None) -> str:
    """`<runbook>-<YYYYMMDD-HHMMSS>` in UTC from the run's wall clock; -2, -3 when taken."""
    base = f"{runbook_id}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(ts))}"
    taken = taken or set()
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class _WriterLock:
    """`<db>.lock` held with flock; the OS releases it when the holder dies."""

    def __init__(self, db: Path) -> None:
        self.path = Path(f"{db}.lock")
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise JournalLocked(str(db), int(holder) if holder.isdigit() else None) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


@dataclass
class _OutputStream:
    redactor: Redactor
    partial: str = ""


class JournalWriter:
    """The single writer of one journal file; see the module docstring for the commit rules."""

    def __init__(self, path: Path, conn: aiosqlite.Connection, lock: _WriterLock,
                 next_seq: int, secrets: Sequence[str], flush_interval: float | None) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock
        self._next_seq = next_seq
        self._redactor = Redactor(secrets)
        self._flush_interval = flush_interval
        self._heads: dict[str, str] = {}
        self._queue: list[tuple[Any, ...]] = []
        self._new_incidents: list[tuple[Any, ...]] = []
        self._writing: asyncio.Future[None] | None = None  # done when the commit in flight ends
        self._ticker: asyncio.Task[None] | None = None
        self._streams: dict[tuple[str, str | None, str], _OutputStream] = {}
        self._failed: BaseException | None = None
        self.incident: str | None = None
        self.first_event: Event | None = None
        """The run.started event of the incident this writer started, for the live fold."""
        self._clock = (0.0, 0.0)  # ts, mono of the latest row: when a stream's tail is closed
        self.output_listener: Callable[[tuple[Any, ...], str, str], None] | None = None
        """Called with (row, stream, redacted line) as each output line is queued, so the live
        engine folds it like every other event and the console shows it without a re-read."""

    @classmethod
    async def open(cls, path: str | os.PathLike[str], *, secrets: Sequence[str] = (),
                   flush_interval: float | None = 0.2) -> JournalWriter:
        """Opens (creating it private if new) and locks the journal at `path`."""
        db = Path(path)
        if not db.parent.exists():
            db.parent.mkdir(mode=0o700, parents=True)
        fresh = not db.exists()
        if fresh:
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        lock = _WriterLock(db)
        try:
            if not fresh and db.is_file() and db.stat().st_size == 0:
                fresh = True  # its creator died before SQLite wrote a byte: nothing to lose
            if not fresh:
                check_file(db)
            conn = await aiosqlite.connect(db)
        except BaseException:
            lock.release()
            raise
        try:
            next_seq = await cls._prepare(db, conn)
        except BaseException:
            await conn.close()
            lock.release()
            raise
        writer = cls(db, conn, lock, next_seq, secrets, flush_interval)
        if flush_interval is not None:
            writer._ticker = asyncio.create_task(writer._tick(flush_interval))
        return writer

    @staticmethod
    async def _prepare(db: Path, conn: aiosqlite.Connection) -> int:
        try:
            async with conn.execute("PRAGMA application_id") as cur:
                app_id = (await cur.fetchone())[0]
            async with conn.execute("PRAGMA user_version") as cur:
                version = (await cur.fetchone())[0]
            async with conn.execute("SELECT count(*) FROM sqlite_schema") as cur:
                has_tables = (await cur.fetchone())[0] > 0
            _check_identity(db, app_id, version, blank_ok=not has_tables)
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = FULL")
            if app_id == 0:
                await conn.executescript(_SCHEMA)
                await conn.commit()
            async with conn.execute("SELECT coalesce(max(seq), 0) FROM events") as cur:
                return (await cur.fetchone())[0] + 1
        except sqlite3.DatabaseError as exc:
            raise _damaged(db, exc) from None

    async def __aenter__(self) -> JournalWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def set_secrets(self, secrets: Sequence[str]) -> None:
        """Values to redact from now on (the runbook's `secrets`, read from the environment)."""
        self._redactor = Redactor(secrets)
        self._streams.clear()

    async def start_incident(self, runbook: Runbook, *, actor: str, ts: float, mono: float,
                             data: dict[str, Any] | None = None,
                             secrets: Sequence[str] | None = None) -> str:
        """Opens a new incident whose first event embeds the normalized runbook and its sha256."""
        if secrets is not None:
            self.set_secrets(secrets)
        base = incident_id(runbook.id, ts)
        async with self._conn.execute(
            "SELECT id FROM incidents WHERE id = ? OR id LIKE ?", (base, f"{base}-%")
        ) as cur:
            taken = {row[0] async for row in cur} | set(self._heads)
        new_id = incident_id(runbook.id, ts, taken)
        embedded = runbook.to_dict()
        payload = {**(data or {}), "runbook": embedded, "runbook_sha256": runbook_digest(embedded)}
        if self._redactor.redact_value(embedded) != embedded:
            payload["runbook_redacted"] = True
        self._heads[new_id] = GENESIS
        self.incident = new_id
        self._new_incidents.append((new_id, runbook.id, float(ts), self._next_seq))
        (self.first_event,) = await self.append([NewEvent(EventType.RUN_STARTED, actor, ts, mono, None, payload)])
        return new_id

    async def resume_incident(self, incident: str) -> None:
        """Makes `incident` the one later events go to, continuing its chain."""
        async with self._conn.execute(
            "SELECT head_hash FROM incidents WHERE id = ?", (incident,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise JournalError(f"{self.path}: no incident {incident!r} in this journal")
        self._heads[incident] = row[0]
        self.incident = incident

    def _row(self, incident: str, type_: str, actor: str, ts: float, mono: float,
             step: str | None, data_text: str) -> tuple[Any, ...]:
        seq = self._next_seq
        self._next_seq = seq + 1
        self._clock = (ts, mono)
        prev = self._heads[incident]
        digest = row_hash(prev, body_json(seq, incident, ts, mono, actor, type_, step, data_text))
        self._heads[incident] = digest
        return (seq, incident, ts, mono, actor, type_, step, data_text, prev, digest)

    def _current(self) -> str:
        if self._failed is not None:
            raise JournalError(f"{self.path}: journal writes failed earlier: {self._failed}")
        if self.incident is None:
            raise JournalError("no incident started or resumed on this journal writer")
        return self.incident

    async def append(self, events: Sequence[NewEvent]) -> list[Event]:
        """Journals state events durably (group commit), after any buffered output."""
        stored = self.stage(events)
        await self._commit_soon()
        return stored

    def stage(self, events: Sequence[NewEvent]) -> list[Event]:
        """Queues state events with their seq and hash; durable at the next `flush` (the
        engine stages a whole scheduling pass, then commits it before acting on it)."""
        incident = self._current()
        redact = self._redactor.redact_value if self._redactor.active else None
        stored: list[Event] = []
        for ev in events:
            data = redact(ev.data) if redact else ev.data
            type_ = ev.type.value if isinstance(ev.type, EventType) else str(ev.type)
            row = self._row(incident, type_, ev.actor, float(ev.ts), float(ev.mono), ev.step,
                            encode_data(data))
            self._queue.append(row)
            stored.append(Event(row[0], incident, row[2], row[3], ev.actor, type_, ev.step,
                                data, row[8], row[9]))
        return stored

    def append_output(self, step: str | None, stream: str, text: str, *, ts: float,
                      mono: float, actor: str = ENGINE) -> None:
        """Buffers complete output lines (redacted); a multi-line text becomes several rows."""
        incident = self._current()
        for line in self._redactor.redact(text).split("\n"):
            self._buffer_line(incident, step, stream, line, ts, mono, actor)

    def append_output_chunk(self, step: str | None, stream: str, chunk: str, *, ts: float,
                            mono: float, actor: str = ENGINE) -> None:
        """Buffers raw process output: redacts across chunk and line boundaries, then
        journals each completed line. Call `end_output` when the stream closes."""
        incident = self._current()
        key = (incident, step, stream)
        state = self._streams.get(key)
        if state is None:
            state = self._streams[key] = _OutputStream(self._redactor.fork())
        text = state.partial + state.redactor.feed(chunk)
        *lines, state.partial = text.split("\n")
        for line in lines:
            self._buffer_line(incident, step, stream, line, ts, mono, actor)

    def end_output(self, step: str | None, stream: str, *, ts: float, mono: float,
                   actor: str = ENGINE) -> None:
        """Journals what is left of a chunked stream (a last line without a newline)."""
        incident = self._current()
        state = self._streams.pop((incident, step, stream), None)
        if state is None:
            return
        lines = (state.partial + state.redactor.flush()).split("\n")
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            self._buffer_line(incident, step, stream, line, ts, mono, actor)

    def _buffer_line(self, incident: str, step: str | None, stream: str, line: str,
                     ts: float, mono: float, actor: str) -> None:
        data_text = f'{{"stream":{encode_basestring(stream)},"text":{encode_basestring(line)}}}'
        row = self._row(incident, "step.output", actor, float(ts), float(mono), step, data_text)
        self._queue.append(row)
        if self.output_listener is not None:
            self.output_listener(row, stream, line)

    async def flush(self) -> None:
        """Commits whatever is buffered now; returns once every row staged so far is durable
        (rows a commit already in flight has taken included)."""
        if self._queue or self._writing is not None:
            await self._commit_soon()

    async def _commit_soon(self) -> None:
        """Commits in the caller's own task, one commit at a time: a caller that finds one in
        flight waits for it, then commits whatever is still queued (its rows, if that commit
        did not take them, and everything staged meanwhile: the group commit)."""
        while self._writing is not None:
            await self._writing
        if self._failed is not None:
            raise JournalError(f"{self.path}: journal writes failed earlier: {self._failed}")
        if not self._queue:
            return
        rows, self._queue = self._queue, []
        incidents, self._new_incidents = self._new_incidents, []
        self._writing = asyncio.get_running_loop().create_future()
        try:
            await self._write(rows, incidents)
        except (sqlite3.Error, OSError) as exc:
            self._failed = exc
            raise _damaged(self.path, exc) from None
        finally:
            writing, self._writing = self._writing, None
            writing.set_result(None)

    async def _write(self, rows: list[tuple[Any, ...]],
                     incidents: list[tuple[Any, ...]]) -> None:
        heads: dict[str, list[Any]] = {}
        for row in rows:
            head = heads.get(row[1])
            if head is None:
                heads[row[1]] = [row[0], row[9], 1]
            else:
                head[0], head[1], head[2] = row[0], row[9], head[2] + 1
        # One hop to aiosqlite's connection thread per commit: the whole transaction runs
        # there, so a durable event costs one fsync and one thread round trip, not four.
        await self._conn._execute(_commit_rows, self._conn._conn, rows, incidents, [
            (seq, digest, n, inc) for inc, (seq, digest, n) in heads.items()])

    async def _tick(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self._queue and self._failed is None:
                try:
                    await self._commit_soon()
                except JournalError:
                    return  # reported to the next caller of append/flush/close

    async def close(self) -> None:
        """Flushes buffered output, closes the connection and releases the lock."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        try:
            if self._failed is None:
                for incident, step, stream in list(self._streams):
                    if incident == self.incident:
                        self.end_output(step, stream, ts=self._clock[0], mono=self._clock[1])
                await self.flush()
        finally:
            await self._conn.close()
            self._lock.release()


class JournalReader:
    """A read-only view of a journal; safe beside a live writer, never takes the lock."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        check_file(self.path)
        uri = self.path.absolute().as_uri() + "?mode=ro"
        try:
            self._conn = sqlite3.connect(uri, uri=True)
            app_id = self._conn.execute("PRAGMA application_id").fetchone()[0]
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None
        try:
            _check_identity(self.path, app_id, version, blank_ok=False)
        except JournalError:
            self._conn.close()
            raise

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def incidents(self) -> list[IncidentInfo]:
        """Every incident in the journal, oldest first."""
        try:
            rows = self._conn.execute(
                "SELECT id, runbook, started_ts, first_seq, last_seq, head_hash, events "
                "FROM incidents ORDER BY first_seq"
            ).fetchall()
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None
        return [IncidentInfo(*row) for row in rows]

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
                f"SELECT {_COLUMNS} FROM events WHERE incident = ? ORDER BY seq", (incident,)
            )
            while chunk := cur.fetchmany(FETCH_CHUNK):
                yield from chunk
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None

    def rows_from(self, incident: str, first_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Up to `limit` raw rows of one incident from seq `first_seq` on, in seq order: a
        replay pages through a long incident instead of holding it."""
        try:
            return self._conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE incident = ? AND seq >= ? ORDER BY seq LIMIT ?",
                (incident, first_seq, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None

    def seqs(self, incident: str) -> Iterator[list[tuple[int]]]:
        """Chunks of the seqs of one incident's rows, in order (a replay's index, when a
        resume after another incident left gaps in them)."""
        try:
            cur = self._conn.execute("SELECT seq FROM events WHERE incident = ? ORDER BY seq", (incident,))
            while chunk := cur.fetchmany(FETCH_CHUNK):
                yield chunk
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None

    def rows_of_types(self, incident: str, types: Sequence[str]) -> list[tuple[int, float, str]]:
        """(seq, mono, type) of one incident's rows whose type is in `types`, in order."""
        marks = ", ".join("?" * len(types))
        try:
            return self._conn.execute(
                f"SELECT seq, mono, type FROM events WHERE incident = ? AND type IN ({marks}) ORDER BY seq",
                (incident, *types),
            ).fetchall()
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None

    def events(self, incident: str) -> Iterator[Event]:
        for row in self.rows(incident):
            yield event_from_row(self.path, row)

    def state(self, incident: str | None = None) -> IncidentState:
        """The incident (latest when None) folded by the one reducer."""
        info = self.resolve(incident)
        return Reducer().apply_rows(self.rows(info.id))

    def verify(self, incident: str | None = None) -> ChainReport:
        info = self.resolve(incident)
        return verify_rows(info.id, self.rows(info.id), expected_head=info.head_hash,
                           expected_last_seq=info.last_seq)

    def verify_all(self) -> list[ChainReport]:
        """Every incident's chain, plus rows that belong to no known incident."""
        reports = [self.verify(info.id) for info in self.incidents()]
        try:
            orphan = self._conn.execute(
                "SELECT min(seq) FROM events WHERE incident NOT IN (SELECT id FROM incidents)"
            ).fetchone()[0]
        except sqlite3.Error as exc:
            raise _damaged(self.path, exc) from None
        if orphan is not None:
            reports.append(ChainReport("?", 0, GENESIS, orphan, "row of an unknown incident"))
        return reports


def _commit_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]],
                 incidents: list[tuple[Any, ...]], heads: list[tuple[Any, ...]]) -> None:
    """One transaction, run on the writer's thread: new incidents, rows, index heads."""
    try:
        if incidents:
            conn.executemany("INSERT INTO incidents VALUES (?, ?, ?, ?, ?, ?, 0)",
                             [(i, rb, ts, first, first, GENESIS) for i, rb, ts, first in incidents])
        conn.executemany(_INSERT, rows)
        conn.executemany("UPDATE incidents SET last_seq = ?, head_hash = ?, events = events + ? "
                         "WHERE id = ?", heads)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def event_from_row(path: Path, row: tuple[Any, ...]) -> Event:
    try:
        data = json.loads(row[7])
    except (TypeError, ValueError):
        raise JournalError(f"{path}: row seq {row[0]} is damaged (data is not JSON); "
                           "run warroom verify") from None
    return Event(row[0], row[1], row[2], row[3], row[4], row[5], row[6], data, row[8], row[9])
