"""The files beside a journal are opened so that no other local user can steer them.

In a shared directory another user can pre-create `c.db` (mode 0666), plant a symlink to a
file of their own, or plant one at `c.db.lock` or `c.db-wal`: warroom would then write the
incident, its commands and their output where that user reads it. So every file a writer
uses is opened without following symlinks and refused, with one sentence naming the path,
when it is not a regular file, not the caller's own, or writable by group or others; the
directories a writer creates are 0700. The checks run before SQLite opens the file, and the
file SQLite opened is checked to be the one that was inspected.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from pathlib import Path

from warroom.journal.errors import JournalError, JournalLocked

SIDE_FILES = ("-wal", "-shm")
"""The files SQLite keeps beside a WAL journal."""


def _refusal(path: Path, exc: OSError, doing: str) -> JournalError:
    if exc.errno == errno.ELOOP:
        return JournalError(f"{path}: is a symbolic link; warroom never follows a link to or "
                            "beside a journal (pass the real path)")
    if exc.errno == errno.ENOTDIR:
        return JournalError(f"{path}: a part of this path is a file, not a directory")
    return JournalError(f"{path}: cannot {doing}: {exc.strerror}")


def check_owned(path: Path, info: os.stat_result) -> None:
    """Refuses anything but a regular file of the caller's own that only the owner may write."""
    if not stat.S_ISREG(info.st_mode):
        raise JournalError(f"{path}: not a regular file; refusing to use it for a journal")
    if info.st_uid != os.geteuid():
        raise JournalError(f"{path}: owned by another user (uid {info.st_uid}); refusing to "
                           "write an incident into it")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise JournalError(f"{path}: writable by other users (mode {stat.S_IMODE(info.st_mode):04o}); "
                           "refusing to use it (chmod go-w it, or pass another path)")


def make_private_dirs(directory: Path) -> None:
    """Creates the missing directories of `directory`, each 0700 (mkdir(parents=True) would
    give the intermediate ones the umask's mode)."""
    missing: list[Path] = []
    probe = directory
    while True:
        try:
            info = os.stat(probe)
        except FileNotFoundError:
            missing.append(probe)
            probe = probe.parent
            continue
        except OSError as exc:
            raise _refusal(probe, exc, "use this directory") from None
        if not stat.S_ISDIR(info.st_mode):
            raise JournalError(f"{probe}: not a directory, so no journal can be made under it")
        break
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue  # another run made it meanwhile; the checks on the files still apply
        except OSError as exc:
            raise _refusal(path, exc, "create the journal's directory") from None


def open_private(path: Path, *, create: bool) -> int:
    """A read-write descriptor on `path` (created 0600 when `create`), refused as `check_owned`
    says; never through a symlink."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        raise _refusal(path, exc, "open it for writing") from None
    try:
        check_owned(path, os.fstat(fd))
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_side_files(db: Path) -> None:
    """The journal's -wal and -shm, if they exist, pass the same checks as the journal."""
    for suffix in SIDE_FILES:
        side = Path(f"{db}{suffix}")
        try:
            info = os.lstat(side)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise _refusal(side, exc, "inspect it") from None
        if stat.S_ISLNK(info.st_mode):
            raise _refusal(side, OSError(errno.ELOOP, "symbolic link"), "open it")
        check_owned(side, info)


class DbFile:
    """The journal file held open while SQLite opens it by name, so a swap shows."""

    def __init__(self, db: Path) -> None:
        self.path = db
        self._fd = open_private(db, create=True)
        info = os.fstat(self._fd)
        self.identity = (info.st_dev, info.st_ino)
        self.empty = info.st_size == 0
        check_side_files(db)

    def confirm(self) -> None:
        """After SQLite opened the path: it is still the file that was checked, and no link
        was planted beside it meanwhile."""
        try:
            info = os.lstat(self.path)
        except OSError as exc:
            raise _refusal(self.path, exc, "inspect it") from None
        if (info.st_dev, info.st_ino) != self.identity:
            raise JournalError(f"{self.path}: the file was replaced while warroom opened it; "
                               "refusing to write to it")
        check_side_files(self.path)

    def close(self) -> None:
        os.close(self._fd)


class WriterLock:
    """`<db>.lock` held with flock; the OS releases it when the holder dies."""

    def __init__(self, db: Path) -> None:
        self.path = Path(f"{db}.lock")
        fd = open_private(self.path, create=True)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise JournalLocked(str(db), int(holder) if holder.isdigit() else None) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:
            os.close(fd)
            raise _refusal(self.path, exc, "write the lock") from None
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass  # a full or failed disk: the flock below still goes with the descriptor
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def writer_alive(db: Path) -> bool:
    """Whether a process is writing `db` now: `<db>.lock` names a live pid. Read, never
    locked: a reader taking the lock even for an instant could make a starting run refuse.
    A writer that ended cleanly emptied the file; one that died left a pid no longer alive."""
    try:
        text = Path(f"{db}.lock").read_text(errors="replace").strip()
    except OSError:
        return False
    if not text.isdigit():
        return False
    try:
        os.kill(int(text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def reader_check(path: Path) -> os.stat_result:
    """What a reader may open: an existing regular file, not reached through a symlink."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise JournalError(f"{path}: no journal here (run a runbook first, or pass --journal)") from None
    except OSError as exc:
        raise _refusal(path, exc, "read the journal") from None
    if stat.S_ISLNK(info.st_mode):
        target = "a missing file" if not path.exists() else "another file"
        raise JournalError(f"{path}: is a symbolic link (to {target}); warroom never follows a "
                           "link to a journal (pass the real path)")
    if not stat.S_ISREG(info.st_mode):
        raise JournalError(f"{path}: not a journal file")
    return info

