"""The SQLite event store: one durable writer per journal file, any number of readers.

The writer is the only connection that ever writes (SQLite 3.40 has the WAL-reset bug with
concurrent writers), so it assigns seq and the hash chain in memory and commits in groups:
every event ready at the moment of a commit goes into one synchronous=FULL transaction.
Output lines are buffered and ride along with the next commit (or the flush timer), always
ahead of the state event that follows them. Readers (reader.py) open read-only and never
take the lock. A failed write (a full disk, an I/O error) is one JournalWriteError, raised
by the next flush, append or stage, never inside an output callback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from warroom.journal.anchors import HEAD_EVERY_S, Head, forget_heads, write_heads
from warroom.journal.chain import (
    GENESIS, body_json, chain_fields, chain_key, encode_data, encode_with, journal_key, row_hash,
)
from warroom.journal.commit import commit_rows, on_thread, prepare_writer
from warroom.journal.errors import JournalError, JournalWriteError
from warroom.journal.events import ENGINE, Event, EventType, NewEvent
from warroom.journal.files import DbFile, WriterLock, make_private_dirs
from warroom.journal.output import LINE_LIMIT, OutputStream, output_rows
from warroom.journal.reader import COLUMNS, JournalReader, check_file
from warroom.journal.redact import Redactor
from warroom.runbook.model import Runbook, text_digest

__all__ = ["JournalReader", "JournalWriter", "incident_id"]
"""JournalReader lives in reader.py; it is named here too because callers import it beside
the writer."""


def incident_id(runbook_id: str, ts: float, taken: set[str] | None = None) -> str:
    """`<runbook>-<YYYYMMDD-HHMMSS>` in UTC from the run's wall clock; -2, -3 when taken."""
    base = f"{runbook_id}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime(ts))}"
    taken = taken or set()
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


class JournalWriter:
    """The single writer of one journal file; see the module docstring for the commit rules."""

    def __init__(self, path: Path, conn: aiosqlite.Connection, lock: WriterLock,
                 next_seq: int, secrets: Sequence[str]) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock
        self._next_seq = next_seq
        self._redactor = Redactor(secrets)
        self._heads: dict[str, str] = {}
        self._keys: dict[str, bytes | None] = {}
        self._committed: dict[str, Head] = {}  # what is durable, for `<db>.head`
        self._anchored: dict[str, Head] = {}  # what `<db>.head` holds
        self._anchored_at = time.monotonic()
        self._queue: list[tuple[Any, ...]] = []
        self._new_incidents: list[tuple[Any, ...]] = []
        self._writing: asyncio.Future[None] | None = None  # done when the commit in flight ends
        self._ticker: asyncio.Task[None] | None = None
        self._streams: dict[tuple[str, str | None, str], OutputStream] = {}
        self._failed: JournalWriteError | None = None
        self.on_failure: Callable[[JournalWriteError], None] | None = None
        """Told once when a write fails: output is committed in the background, so the run
        must hear of a full disk even while no event of its own is written."""
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
        """Opens (creating it private if new) and locks the journal at `path`; refuses a file
        another user could have planted or can write (see files.py) and one that fails
        SQLite's quick check."""
        db = Path(path)
        make_private_dirs(db.parent)
        lock = WriterLock(db)  # taken first: creating and checking the file happen under it
        try:
            conn = await cls._connect(db)
        except BaseException:
            lock.release()
            raise
        try:
            next_seq = await on_thread(conn, prepare_writer, db)
        except BaseException:
            await conn.close()
            lock.release()
            raise
        writer = cls(db, conn, lock, next_seq, secrets)
        if flush_interval is not None:
            writer._ticker = asyncio.create_task(writer._tick(flush_interval))
        return writer

    @staticmethod
    async def _connect(db: Path) -> aiosqlite.Connection:
        checked = DbFile(db)
        try:
            if checked.empty:
                forget_heads(db)  # nothing to lose: new, or its creator died before a byte
            else:
                check_file(db)
            conn = await aiosqlite.connect(db)
            try:
                checked.confirm()
            except BaseException:
                await conn.close()
                raise
            return conn
        finally:
            checked.close()

    async def __aenter__(self) -> JournalWriter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def set_secrets(self, secrets: Sequence[str]) -> None:
        """Values to redact from now on (the runbook's `secrets`, read from the environment)."""
        self._redactor = Redactor(secrets)
        self._streams.clear()

    def head(self, incident: str | None = None) -> str:
        """The hash of the latest row of `incident` (the current one by default) this writer
        staged: what a run prints as it ends (`anchors.head_line`)."""
        return self._heads[incident or self.incident or ""]

    async def start_incident(self, runbook: Runbook, *, actor: str, ts: float, mono: float,
                             data: dict[str, Any] | None = None,
                             secrets: Sequence[str] | None = None) -> str:
        """Opens a new incident whose first event embeds the normalized runbook and its sha256;
        keyed (HMAC) when WARROOM_JOURNAL_KEY is set."""
        if secrets is not None:
            self.set_secrets(secrets)
        base = incident_id(runbook.id, ts)
        async with self._conn.execute(
            "SELECT id FROM incidents WHERE id = ? OR id LIKE ?", (base, f"{base}-%")
        ) as cur:
            taken = {row[0] async for row in cur} | set(self._heads)
        new_id = incident_id(runbook.id, ts, taken)
        embedded = runbook.to_dict()
        runbook_text = encode_data(embedded)
        key = journal_key()
        others = {**(data or {}), "runbook_sha256": text_digest(runbook_text), **chain_fields(key)}
        shown = self._redactor.redact_value(embedded)
        if shown != embedded:
            others["runbook_redacted"] = True
            runbook_text = encode_data(shown)
        others = self._redactor.redact_value(others)
        self._heads[new_id] = GENESIS
        self._keys[new_id] = key
        self.incident = new_id
        self._new_incidents.append((new_id, runbook.id, float(ts), self._next_seq))
        self.first_event = self._stage_one(self._current(), EventType.RUN_STARTED.value, actor, ts, mono, None,
                                           {"runbook": shown, **others}, encode_with(others, {"runbook": runbook_text}))
        await self._commit_soon()
        return new_id

    async def resume_incident(self, incident: str) -> None:
        """Makes `incident` the one later events go to, continuing its chain; refuses when
        the incident's head does not check out (with its key, for a keyed incident)."""
        async with self._conn.execute(
            "SELECT first_seq, last_seq, head_hash FROM incidents WHERE id = ?", (incident,)
        ) as cur:
            index = await cur.fetchone()
        if index is None:
            raise JournalError(f"{self.path}: no incident {incident!r} in this journal")
        first_seq, last_seq, head = index
        async with self._conn.execute(
            f"SELECT {COLUMNS} FROM events WHERE seq IN (?, ?) AND incident = ? ORDER BY seq",
            (first_seq, last_seq, incident),
        ) as cur:
            ends = [tuple(row) async for row in cur]
        if not ends:
            raise JournalError(f"{self.path}: incident {incident} has lost its rows; refusing "
                               "to append to it: run warroom verify")
        try:
            first_data = json.loads(ends[0][7])
        except ValueError:
            first_data = None  # the hash check below names the damage
        try:
            _, key = chain_key(incident, first_data, journal_key())
        except ValueError as exc:
            raise JournalError(f"{self.path}: cannot append to incident {incident}: {exc}") from None
        seq, inc, ts, mono, actor, type_, step, data, prev_hash, stored = ends[-1]
        if (seq != last_seq or stored != head
                or row_hash(prev_hash, body_json(seq, inc, ts, mono, actor, type_, step, data), key) != stored):
            raise JournalError(f"{self.path}: incident {incident} fails its check at its last row "
                               f"(seq {last_seq}); refusing to append to it: run warroom verify")
        self._heads[incident] = head
        self._keys[incident] = key
        self._committed.setdefault(incident, (last_seq, head))
        self.incident = incident

    def _row(self, incident: str, type_: str, actor: str, ts: float, mono: float,
             step: str | None, data_text: str) -> tuple[Any, ...]:
        seq = self._next_seq
        self._next_seq = seq + 1
        self._clock = (ts, mono)
        prev = self._heads[incident]
        digest = row_hash(prev, body_json(seq, incident, ts, mono, actor, type_, step, data_text),
                          self._keys[incident])
        self._heads[incident] = digest
        return (seq, incident, ts, mono, actor, type_, step, data_text, prev, digest)

    def _current(self) -> str:
        if self._failed is not None:
            raise self._failed
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
            stored.append(self._stage_one(incident, type_, ev.actor, ev.ts, ev.mono, ev.step, data,
                                          encode_data(data)))
        return stored

    def _stage_one(self, incident: str, type_: str, actor: str, ts: float, mono: float,
                   step: str | None, data: dict[str, Any], data_text: str) -> Event:
        """Queues one state event whose data (redacted) is spelled `data_text`."""
        row = self._row(incident, type_, actor, float(ts), float(mono), step, data_text)
        self._queue.append(row)
        return Event(row[0], incident, row[2], row[3], actor, type_, step, data, row[8], row[9])

    def append_output(self, step: str | None, stream: str, text: str, *, ts: float,
                      mono: float, actor: str = ENGINE) -> None:
        """Buffers complete output lines (redacted); a multi-line text becomes several rows.
        After a failed write it drops the text (it runs in output callbacks, which must not
        raise): the next `flush` raises the failure."""
        if self._failed is not None:
            return
        incident = self._current()
        for line in self._redactor.redact(text).split("\n"):
            self._buffer_line(incident, step, stream, line, ts, mono, actor)

    def append_output_chunk(self, step: str | None, stream: str, chunk: str, *, ts: float,
                            mono: float, actor: str = ENGINE) -> None:
        """Buffers raw process output: redacts across chunk and line boundaries, then
        journals each completed line, and a line past LINE_LIMIT in pieces as it grows.
        Call `end_output` when the stream closes. Drops output after a failed write, as
        `append_output` does."""
        if self._failed is not None:
            return
        incident = self._current()
        key = (incident, step, stream)
        state = self._streams.get(key)
        if state is None:
            state = self._streams[key] = OutputStream(self._redactor.fork())
        text = state.redactor.feed(chunk)
        if "\n" in text:
            first, *lines, rest = text.split("\n")
            state.pieces.append(first)
            for line in (state.take(), *lines):
                self._buffer_line(incident, step, stream, line, ts, mono, actor)
            text = rest
        state.pieces.append(text)
        state.size += len(text)
        if state.size >= LINE_LIMIT:
            pending = state.take()
            cut = len(pending) - len(pending) % LINE_LIMIT
            self._buffer_line(incident, step, stream, pending[:cut], ts, mono, actor, more=True)
            state.pieces, state.size = [pending[cut:]], len(pending) - cut

    def end_output(self, step: str | None, stream: str, *, ts: float, mono: float,
                   actor: str = ENGINE) -> None:
        """Journals what is left of a chunked stream (a last line without a newline)."""
        if self._failed is not None:
            return
        incident = self._current()
        state = self._streams.pop((incident, step, stream), None)
        if state is None:
            return
        lines = (state.take() + state.redactor.flush()).split("\n")
        if lines[-1] == "":
            lines.pop()
        for line in lines:
            self._buffer_line(incident, step, stream, line, ts, mono, actor)

    def _buffer_line(self, incident: str, step: str | None, stream: str, line: str,
                     ts: float, mono: float, actor: str, *, more: bool = False) -> None:
        """Queues one line as rows of at most LINE_LIMIT characters; `more`: the line goes
        on in a later call, so its last row is marked too."""
        for data_text, piece in output_rows(stream, line, more=more):
            row = self._row(incident, "step.output", actor, float(ts), float(mono), step, data_text)
            self._queue.append(row)
            if self.output_listener is not None:
                self.output_listener(row, stream, piece)

    async def flush(self) -> None:
        """Commits whatever is buffered now; returns once every row staged so far is durable
        (rows a commit already in flight has taken included). Raises JournalWriteError
        when the journal cannot be written."""
        if self._queue or self._writing is not None or self._failed is not None:
            await self._commit_soon()

    async def _commit_soon(self) -> None:
        """Commits in the caller's own task, one commit at a time: a caller that finds one in
        flight waits for it, then commits whatever is still queued (its rows, if that commit
        did not take them, and everything staged meanwhile: the group commit)."""
        while self._writing is not None:
            await self._writing
        if self._failed is not None:
            raise self._failed
        if not self._queue:
            return
        rows, self._queue = self._queue, []
        incidents, self._new_incidents = self._new_incidents, []
        self._writing = asyncio.get_running_loop().create_future()
        try:
            await self._write(rows, incidents)
        except (sqlite3.Error, OSError) as exc:
            self._failed = JournalWriteError.of(self.path, exc)
            if self.on_failure is not None:
                self.on_failure(self._failed)
            raise self._failed from None
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
        await on_thread(self._conn, commit_rows, rows, incidents, [
            (seq, digest, n, inc) for inc, (seq, digest, n) in heads.items()])
        self._committed.update((inc, (seq, digest)) for inc, (seq, digest, _) in heads.items())

    async def _anchor(self) -> None:
        """Refreshes `<db>.head` with what is durable; best effort (it is only a warning's
        evidence, and the disk may be the thing that failed)."""
        if self._committed == self._anchored:
            return
        heads = dict(self._committed)
        try:
            await asyncio.to_thread(write_heads, self.path, heads)
        except OSError:
            return
        self._anchored, self._anchored_at = heads, time.monotonic()

    async def _tick(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            if self._failed is not None:
                return  # reported to the next caller of append/flush
            if self._queue:
                try:
                    await self._commit_soon()
                except JournalError:
                    return
            if time.monotonic() - self._anchored_at >= HEAD_EVERY_S:
                await self._anchor()

    async def close(self) -> None:
        """Flushes buffered output, anchors the heads, closes the connection and releases
        the lock; after a failed write it only closes (the failure was raised already)."""
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
            try:
                await self._anchor()
                await self._conn.close()
            finally:
                self._conn.stop()  # a close cut short (cancelled) must not leave its thread behind
                self._lock.release()
