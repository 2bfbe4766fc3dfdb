"""What the journal writer runs on aiosqlite's connection thread, each in one hop.

Kept apart from store.py, which decides what to commit and when (seq, the hash chain, group
commit, output buffering): here is only the SQL of opening the file for writing and of one
commit's transaction, and the hop that runs either on the connection's own thread.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from warroom.journal.chain import GENESIS
from warroom.journal.schema import damaged, prepare

T = TypeVar("T")
_INSERT = "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


async def on_thread(conn: aiosqlite.Connection, fn: Callable[..., T], *args: Any) -> T:
    """`fn(sqlite3 connection, *args)` run on aiosqlite's connection thread, in one hop."""
    execute: Callable[..., Awaitable[T]] = getattr(conn, "_execute")
    return await execute(fn, conn._conn, *args)


def prepare_writer(conn: sqlite3.Connection, db: Path) -> int:
    """On the writer's thread: the schema ready (schema.prepare), then the next seq."""
    try:
        prepare(conn, db)
        return int(conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]) + 1
    except sqlite3.DatabaseError as exc:
        raise damaged(db, exc) from None


def commit_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]],
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
        with contextlib.suppress(sqlite3.Error):
            conn.rollback()  # on a full disk the rollback may fail too; the first error wins
        raise
