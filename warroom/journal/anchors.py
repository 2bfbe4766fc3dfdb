"""Anchors: what is kept outside a journal so that losing or rewriting its tail shows.

A chain inside one file cannot see its own tail cut off with the index fixed, nor a whole
incident recomputed. Two anchors help. The head hash, printed when a run ends and in every
export, can be pinned in a ticket and checked with `warroom verify --expect HASH`. And the
writer keeps `<db>.head` beside the journal: the last committed head of each incident it
wrote, replaced atomically on close and every few seconds. When the journal holds less than
that file says (its -wal deleted after a crash, say) `list` and `resume` warn.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from warroom.journal.chain import IncidentInfo

HEAD_EVERY_S = 5.0
"""How often a live writer refreshes `<db>.head` (and always on close): often enough to
notice a lost -wal, rare enough to cost nothing beside the journal's own fsyncs."""

Head = tuple[int, str]
"""(last seq, head hash) of one incident."""


def head_path(db: Path) -> Path:
    return Path(f"{db}.head")


def head_line(incident: str, head: str) -> str:
    """What a run prints as it ends, so the head can be pinned outside the machine."""
    return f"journal head of {incident}: {head} (pin it; check with: warroom verify {incident} --expect {head})"


def read_heads(db: Path) -> dict[str, Head]:
    """The heads `<db>.head` records; nothing when it is missing, a link or unreadable."""
    path = head_path(db)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = json.loads(fh.read(1 << 20))
        return {str(inc): (int(h["seq"]), str(h["hash"])) for inc, h in raw["incidents"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
    finally:
        os.close(fd)


def write_heads(db: Path, heads: dict[str, Head]) -> None:
    """Merges `heads` into `<db>.head` and replaces it in one rename (a reader sees the old
    file or the new one, never half). Raises OSError; callers treat the anchor as best effort."""
    merged = {**read_heads(db), **heads}
    path = head_path(db)
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    body = json.dumps({"incidents": {inc: {"seq": seq, "hash": digest}
                                     for inc, (seq, digest) in sorted(merged.items())}},
                      indent=1).encode()
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, body)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink()
        raise
    os.close(fd)
    os.replace(tmp, path)


def forget_heads(db: Path) -> None:
    """A journal made afresh at `db` owes nothing to the heads of one that was there before."""
    try:
        head_path(db).unlink()
    except FileNotFoundError:
        pass


def behind(db: Path, index: list[IncidentInfo], hash_at: dict[tuple[str, int], str]) -> list[str]:
    """Warnings for each incident the journal holds less of than `<db>.head` recorded.

    `hash_at` maps (incident, seq) to the stored hash of that row, for the recorded seqs."""
    known = {info.id: info for info in index}
    warnings = []
    for incident, (seq, digest) in sorted(read_heads(db).items()):
        info = known.get(incident)
        if info is None:
            warnings.append(f"{db}: incident {incident} is missing, but {head_path(db)} recorded "
                            f"it up to seq {seq} (was the journal's -wal deleted or the file replaced?)")
        elif info.last_seq < seq:
            warnings.append(f"{db}: incident {incident} ends at seq {info.last_seq}, but "
                            f"{head_path(db)} recorded it up to seq {seq}: its last events are "
                            "lost (was the journal's -wal deleted after a crash?)")
        elif hash_at.get((incident, seq)) != digest:
            warnings.append(f"{db}: incident {incident}'s row at seq {seq} is not the one "
                            f"{head_path(db)} recorded: the journal was rewritten")
    return warnings
