"""Why a journal cannot be used, as one sentence a person can act on.

Every journal failure (a missing or foreign file, a truncated database, an unknown incident,
a second writer) surfaces as a JournalError so the command line prints one line and never a
traceback.
"""

from __future__ import annotations


class JournalError(Exception):
    """A journal that cannot be opened, read or written, with a message for a person."""


class JournalLocked(JournalError):
    """Another live process holds the journal's writer lock: two runners would run steps twice."""

    def __init__(self, path: str, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"{path}: journal is in use by {holder} (its lock is {path}.lock)")
