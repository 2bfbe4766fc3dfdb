"""How each step state looks: a distinct glyph (readable without colour) and a colour.

One table, so the graph, the thread panels, the help screen and the screenshots agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.journal.state import RunResult, StepStatus


@dataclass(frozen=True)
class Look:
    glyph: str
    style: str
    label: str


LOOKS: dict[StepStatus, Look] = {
    StepStatus.PENDING: Look("·", "grey50", "pending"),
    StepStatus.WAITING: Look("…", "yellow", "waiting"),
    StepStatus.RUNNING: Look("▶", "bold cyan", "running"),
    StepStatus.SUCCEEDED: Look("✔", "green", "ok"),
    StepStatus.FAILED: Look("✘", "bold red", "FAILED"),
    StepStatus.SKIPPED: Look("↷", "grey62", "skipped"),
    StepStatus.BLOCKED: Look("⊘", "red", "blocked"),
    StepStatus.CANCELLED: Look("⊗", "magenta", "cancelled"),
    StepStatus.IN_DOUBT: Look("?", "bold yellow", "IN DOUBT"),
    StepStatus.UNDONE: Look("↺", "blue", "undone"),
    StepStatus.UNDO_FAILED: Look("‼", "bold red", "UNDO FAILED"),
}

RESULT_STYLES: dict[RunResult, str] = {
    RunResult.RUNNING: "bold cyan",
    RunResult.WAITING: "bold yellow",
    RunResult.SUCCEEDED: "bold green",
    RunResult.FAILED: "bold red",
    RunResult.ROLLED_BACK: "bold magenta",
    RunResult.ABORTED: "bold red",
    RunResult.INTERRUPTED: "bold yellow",
}

CRITICAL_NODE = "◆"
NODE = "●"


def clock(seconds: float | None) -> str:
    """Seconds as H:MM:SS (or MM:SS under an hour); blank when unknown."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"
