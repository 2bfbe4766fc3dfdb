"""How each step state looks: a distinct glyph (readable without colour) and a colour.

One table, so the graph, the thread panels, the help screen and the screenshots agree. A
terminal whose locale is not UTF-8 (`LANG=C`, a serial console) gets the ASCII charset: every
glyph the console draws itself comes from `charset()`, and the ASCII one keeps each state's
glyph distinct, so states still read apart without colour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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

ASCII_LOOKS: dict[StepStatus, Look] = {
    status: Look(glyph, look.style, look.label)
    for (status, look), glyph in zip(LOOKS.items(), (".", "~", ">", "+", "X", "-", "#", "x", "?", "<", "!"), strict=True)
}


@dataclass(frozen=True)
class Charset:
    """Every glyph the console draws itself (Textual's borders are its own)."""

    looks: Mapping[StepStatus, Look]
    critical_node: str
    node: str
    lanes: dict[int, int]  # str.translate table for the graph's lane prefixes
    timer: str
    playing: str
    paused: str
    claimed: str
    more: str  # an ellipsis
    arrow: str
    waiting: str  # the header's "people are waited for"
    marks: tuple[str, str, str, str]  # the scrubber's failure, approval, claim, note
    played: str
    unplayed: str
    cursor: str


UNICODE = Charset(LOOKS, "◆", "●", {}, "⏱", "▶", "⏸", "☚", "…", "→", "⚑", ("✘", "?", "⚑", "✎"), "━", "─", "●")
ASCII = Charset(ASCII_LOOKS, "*", "o", str.maketrans("●│─┼┘┤└├┴", "o|-+'+`++"), "t", ">", "||", "@", "...", "->",
                "!", ("X", "?", "@", "n"), "=", "-", "O")
_active = [UNICODE]


COERCED = ("C.UTF-8", "C.utf8")
"""What Python itself sets LC_CTYPE to when it starts under LANG=C (PEP 538): not the user's."""


def unicode_locale(environ: Mapping[str, str]) -> bool:
    """Whether the terminal's locale is UTF-8: LC_ALL, else LC_CTYPE (unless Python coerced
    it), else LANG, as the C library reads them."""
    ctype = environ.get("LC_CTYPE", "")
    name = environ.get("LC_ALL") or (ctype if ctype not in COERCED else "") or environ.get("LANG") or ""
    return "utf-8" in name.lower() or "utf8" in name.lower()


def use(chosen: Charset) -> None:
    """Chooses the charset every pane draws with (the app does so once, from the locale)."""
    _active[0] = chosen


def charset() -> Charset:
    return _active[0]


def looks() -> Mapping[StepStatus, Look]:
    return _active[0].looks


use(UNICODE if unicode_locale(os.environ) else ASCII)


def clock(seconds: float | None) -> str:
    """Seconds as H:MM:SS (or MM:SS under an hour); blank when unknown."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"
