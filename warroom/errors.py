"""Which exceptions are a user's mistake (one clear line, exit 1) rather than a bug (traceback)."""

from __future__ import annotations

import sys


class UsageError(Exception):
    """Bad arguments found after parsing (a malformed --var, say): exit 2 with one line."""


def user_message(exc: BaseException) -> str | None:
    """The message to print for an expected failure, or None for a real bug."""
    from warroom.runbook.errors import RunbookError

    if isinstance(exc, RunbookError):
        return "\n".join(str(p) for p in exc.problems)
    journal_errors = sys.modules.get("warroom.journal.errors")
    if journal_errors is not None and isinstance(exc, journal_errors.JournalError):
        return f"warroom: {exc}"
    return None
