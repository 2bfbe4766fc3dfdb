"""What reaches the engine's queue: reports of actions, people's commands, interruptions.

Small dataclasses, one per kind, so the loop dispatches on type; every report carries the
attempt token that lets a stale one (a timed-out attempt finishing late) be ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from warroom.engine.commands import OperatorCommand
from warroom.engine.drill import Inject
from warroom.journal.errors import JournalWriteError


class StopReason(str, Enum):
    """Why a running attempt was ended before its command did."""

    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Done:
    """An attempt's result: a process exited, a drill's simulated step ended, a stop."""

    step: str
    token: int
    ok: bool
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    stopped: StopReason | None = None


@dataclass(frozen=True)
class Exited:
    """A step's process ended; `stopped` says why when the runner ended it."""

    step: str
    token: int
    exit_code: int | None
    stdout: str
    stopped: StopReason | None = None


@dataclass(frozen=True)
class UndoDone:
    step: str
    ok: bool
    reason: str = ""


@dataclass
class Command:
    command: OperatorCommand
    future: asyncio.Future[None]


@dataclass(frozen=True)
class Spawned:
    """An attempt's process exists: its pid (and group) and start time go in the journal."""

    step: str
    token: int
    pid: int
    start: int | None


@dataclass(frozen=True)
class Interrupt:
    signal: str


@dataclass(frozen=True)
class JournalFailed:
    """The journal could not be written (a full disk): the run stops, its children too."""

    error: JournalWriteError


@dataclass
class Facilitate:
    inject: Inject
    actor: str
    future: asyncio.Future[None]
