"""How the command line speaks: one `warroom: ...` line on stderr, and which errors are a
user's mistake (one clear line, exit 1) rather than a bug (a traceback)."""

from __future__ import annotations

import sys


def say(message: str) -> None:
    print(f"warroom: {message}", file=sys.stderr)


def user_message(exc: BaseException) -> str | None:
    """The message to print for an expected failure, or None for a real bug."""
    from warroom.journal.errors import JournalError
    from warroom.runbook.errors import RunbookError

    if isinstance(exc, RunbookError):
        return "\n".join(str(p) for p in exc.problems)
    if isinstance(exc, JournalError):
        return f"warroom: {exc}"
    return None
