"""`warroom verify`: the whole file, every incident's chain against the index, and a pinned head.

A journal is evidence, so verify checks everything the file holds unless told one incident:
SQLite's integrity check of the file, each incident's chain (and every field of its index
entry) as chain.py defines it, rows that belong to no known incident, and, with `--expect
HASH`, that a head pinned earlier (in a ticket, a postmortem) is still in the chain.
"""

from __future__ import annotations

from warroom.journal.chain import ChainReport
from warroom.journal.reader import JournalReader

MAX_FILE_PROBLEMS = 5


def verify_journal(reader: JournalReader, incident: str | None = None,
                   expect: str | None = None) -> tuple[list[str], list[str]]:
    """(what is sound, one line each; what is wrong, one line each). Sound when the second
    list is empty. `incident`: only that one (the file check still runs)."""
    problems = [f"{reader.path}: SQLite's integrity check: {p}"
                for p in reader.integrity()[:MAX_FILE_PROBLEMS]]
    if incident is None:
        reader.resolve(None)  # a journal with no incidents yet is refused with one line
        reports = reader.verify_all(expect=expect)
    else:
        reports = [reader.verify(incident, expect=expect)]
    sound = []
    for report in reports:
        if report.sound:
            sound.append(f"incident {report.incident}: {report.events} events, hash chain sound "
                         f"({report.mode.value}), last hash {report.head}")
        else:
            problems.append(f"incident {report.incident}: journal altered at seq "
                            f"{report.bad_seq}: {report.problem}")
    if expect is not None:
        problems += _expected(reports, incident, expect, sound)
    return sound, problems


def _expected(reports: list[ChainReport], incident: str | None, expect: str,
              sound: list[str]) -> list[str]:
    found = [r for r in reports if r.expected_at is not None]
    if found:
        for r in found:
            sound.append(f"pinned head {expect} is in incident {r.incident} at seq {r.expected_at}")
        return []
    where = f"incident {incident}'s chain" if incident else "any incident's chain"
    return [f"pinned head {expect} is not in {where}: the journal was rewritten or cut "
            "short after it was pinned (or the hash belongs to another journal)"]
