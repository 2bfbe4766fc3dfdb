"""What makes an SQLite file a warroom journal, and how one is made: in one transaction.

A journal is marked by `PRAGMA application_id` and versioned by `user_version`. Both are set
in the same transaction as the tables, so a process killed while creating a journal leaves
either nothing or a whole journal. Journals half-made by an older warroom (each statement
committed on its own) are recognized, since their tables are exactly ours and empty, and are
finished instead of being refused as another program's database.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from warroom.journal.errors import JournalError

SCHEMA_VERSION = 1
APPLICATION_ID = 0x57415252  # "WARR": marks the file as a warroom journal
SQLITE_MAGIC = b"SQLite format 3\x00"

TABLES = {
    "incidents": """CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    runbook TEXT NOT NULL,
    started_ts REAL NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    events INTEGER NOT NULL
)""",
    "events": """CREATE TABLE events (
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
)""",
}
INDEXES = {"events_by_incident": "CREATE INDEX events_by_incident ON events (incident, seq)"}
_OWN = {name: re.sub(r"\s+", " ", sql) for name, sql in {**TABLES, **INDEXES}.items()}
_AUTO_INDEX = "sqlite_autoindex_incidents_1"  # the primary key's, made with the table


def damaged(path: Path, exc: sqlite3.Error) -> JournalError:
    return JournalError(f"{path}: the journal is damaged or truncated ({exc})")


def check_header(path: Path, header: bytes) -> None:
    """Refuses, with one sentence, a file whose first bytes cannot start a journal."""
    if not header:
        raise JournalError(f"{path}: the file is empty, not a warroom journal")
    if not header.startswith(SQLITE_MAGIC[: len(header)]) or len(header) < 16:
        raise JournalError(f"{path}: not a warroom journal (not an SQLite database)")
    if len(header) < 100:
        raise JournalError(f"{path}: the journal is truncated")


def check_identity(path: Path, app_id: int, version: int) -> None:
    if app_id != APPLICATION_ID:
        raise JournalError(f"{path}: not a warroom journal (an SQLite database of another program)")
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise JournalError(
            f"{path}: journal format version {version}, this warroom reads version "
            f"{SCHEMA_VERSION}" + ("; use a newer warroom" if newer else "; it cannot be upgraded")
        )


def _unfinished(conn: sqlite3.Connection, app_id: int, version: int) -> bool:
    """Blank, or a journal whose creation stopped part way: only our own empty tables."""
    if app_id not in (0, APPLICATION_ID) or version not in (0, SCHEMA_VERSION):
        return False
    objects = conn.execute("SELECT name, sql FROM sqlite_schema").fetchall()
    for name, sql in objects:
        if name == _AUTO_INDEX:
            continue
        if _OWN.get(name) != re.sub(r"\s+", " ", sql or ""):
            return False
    names = {name for name, _ in objects}
    if len(names - {_AUTO_INDEX}) == len(_OWN) and app_id and version:
        return False  # a whole journal
    return all(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
               for table in TABLES if table in names)


def prepare(conn: sqlite3.Connection, path: Path) -> None:
    """Makes `conn`'s file a journal ready for writing: checks what is there, switches to
    WAL, and creates (or finishes) the schema in one transaction."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    build = _unfinished(conn, app_id, version)
    if not build:
        check_identity(path, app_id, version)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    if build:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for name in (*INDEXES, *TABLES):
                conn.execute(f"DROP {'INDEX' if name in INDEXES else 'TABLE'} IF EXISTS {name}")
            for sql in (*TABLES.values(), *INDEXES.values()):
                conn.execute(sql)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.rollback()
            raise
    problem = conn.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise JournalError(f"{path}: the journal fails SQLite's check ({problem}); run warroom "
                           "verify, and start new incidents in another journal")
