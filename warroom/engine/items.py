"""What reaches the scheduler's queue: reports of actions, due timers, people's commands.

Small dataclasses, one per kind, so the loop dispatches on type and every report carries the
attempt token that lets a stale one (a timed-out attempt finishing late) be ignored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from warroom.engine.commands import OperatorCommand
from warroom.engine.drill import Inject


@dataclass
class Done:
    step: str
    token: int
    ok: bool
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass
class UndoDone:
    step: str
    ok: bool
    reason: str = ""


@dataclass
class Timer:
    kind: str  # done | wait | retry | poll | timeout | approval | inject | release | deadline | auto
    step: str | None = None
    token: int = 0
    payload: Any = None


@dataclass
class Command:
    command: OperatorCommand
    future: asyncio.Future[None]


@dataclass
class Interrupt:
    signal: str


@dataclass
class Facilitate:
    inject: Inject
    actor: str
    future: asyncio.Future[None]
