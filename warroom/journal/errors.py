"""Why a journal cannot be used, as one sentence a person can act on.

Every journal failure (a missing or foreign file, a truncated database, an unknown incident,
a second writer) surfaces as a JournalError so the command line prints one line and never a
traceback.
"""

from __future__ import annotations

import errno as _errno
import os as _os


class JournalError(Exception):
    """A journal that cannot be opened, read or written, with a message for a person."""


class JournalLocked(JournalError):
    """Another live process holds the journal's writer lock: two runners would run steps twice."""

    def __init__(self, path: str, pid: int | None) -> None:
        self.path = path
        self.pid = pid
        holder = f"process {pid}" if pid else "another process"
        super().__init__(f"{path}: journal is in use by {holder} (its lock is {path}.lock)")


class JournalWriteError(JournalError):
    """A write to the journal failed (a full disk, an I/O error): the run must stop cleanly.

    Everything committed before the failure stays in the journal; the writer takes no more
    rows, and `warroom resume` carries on once the cause is fixed."""

    def __init__(self, path: str, errno: int | None, detail: str) -> None:
        self.path = path
        self.errno = errno
        self.detail = detail
        name = _errno.errorcode.get(errno, "") if errno is not None else ""
        why = f"{_os.strerror(errno)} ({name})" if errno is not None else detail
        super().__init__(f"{path}: writing the journal failed: {why}; what was committed before "
                         "is kept: fix the cause, then warroom resume")

    @classmethod
    def of(cls, path: object, exc: BaseException) -> JournalWriteError:
        """From what SQLite or the OS raised: SQLite's result code mapped to its errno."""
        if isinstance(exc, OSError):
            return cls(str(path), exc.errno, exc.strerror or str(exc))
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        return cls(str(path), _SQLITE_ERRNO.get(code), str(exc))


_SQLITE_ERRNO = {13: _errno.ENOSPC, 10: _errno.EIO, 8: _errno.EROFS}
"""SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY (primary result codes) as an errno."""
