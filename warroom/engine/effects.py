"""What a decision asks the runner to do, once the events that decided it are durable.

Deciding never touches a process, a timer or the journal file; it returns these, and the
runner carries them out in order after the commit (timers are armed at once: arming one is
not an act on the world, and a drill at --speed max must not wait for a commit to move on).
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.engine.inputs import StopReason
from warroom.engine.timers import Timer
from warroom.runbook.templates import RenderedCommand


@dataclass(frozen=True)
class Arm:
    due: float  # run-clock seconds
    timer: Timer


@dataclass(frozen=True)
class Spawn:
    """Start an attempt's command; its Done report carries `token`."""

    step: str
    token: int
    command: RenderedCommand
    attempt: int


@dataclass(frozen=True)
class SpawnUndo:
    step: str
    command: RenderedCommand


@dataclass(frozen=True)
class Page:
    """An escalation's notify command: started and forgotten (its output is journaled)."""

    step: str
    command: RenderedCommand


@dataclass(frozen=True)
class Stop:
    """End a running attempt (timeout or cancel); its report then says why. Without a
    process (it could not be spawned) the runner reports the stop itself."""

    step: str
    token: int
    why: StopReason


Effect = Arm | Spawn | SpawnUndo | Page | Stop
