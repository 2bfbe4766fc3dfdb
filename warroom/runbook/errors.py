"""Problems found in a runbook, each with the place a person must look (file:line:col)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int  # 1-based; 0 when the problem is the file as a whole
    col: int  # 1-based

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file  # the whole file: it is missing or unreadable
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Problem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class VarError(ValueError):
    """A malformed `--var` (no `=`, no name, not UTF-8): the command line's usage error."""


class RunbookError(Exception):
    """Raised when a runbook cannot be used; carries every problem found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))
