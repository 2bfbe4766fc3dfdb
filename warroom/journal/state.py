"""What an incident looks like at a moment: the single shape every reader draws from.

These classes are only ever filled by the reducer, so the console, resume, replay, report and
export cannot disagree about a step's status or timing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from warroom.runbook.model import Runbook


class StepStatus(str, Enum):
    PENDING = "pending"
    WAITING = "waiting"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    IN_DOUBT = "in_doubt"
    UNDONE = "undone"
    UNDO_FAILED = "undo_failed"

    @property
    def finished(self) -> bool:
        return self not in _OPEN


_OPEN = frozenset({StepStatus.PENDING, StepStatus.WAITING, StepStatus.RUNNING, StepStatus.IN_DOUBT})


class RunResult(str, Enum):
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"
    INTERRUPTED = "interrupted"

    @property
    def ended(self) -> bool:
        """For good: nothing but a note can be added (a failed run can still be mended)."""
        return self in _ENDED

    @property
    def going(self) -> bool:
        """Still under way: running, or waiting for a person (not ended, failed or interrupted)."""
        return self in _GOING


_ENDED = frozenset({RunResult.SUCCEEDED, RunResult.ROLLED_BACK, RunResult.ABORTED})
_GOING = frozenset({RunResult.RUNNING, RunResult.WAITING})


class WaitReason(StrEnum):
    NEEDS = "needs"
    LOCK = "lock"
    CLAIM = "claim"
    PERSON = "person"
    RETRY = "retry"
    SLOT = "slot"  # one of max_parallel's slots


class PhaseStatus(StrEnum):
    """A phase's state as `phases.ID.status` reads it (a phase not yet started is pending)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # its `when` was false as it came up


@dataclass(frozen=True)
class WaitingOn:
    """What a waiting step waits for: needs, a lock, a claim, a person, or a retry delay."""

    on: WaitReason
    detail: str = ""
    holders: tuple[str, ...] = ()


@dataclass(slots=True)
class StepState:
    id: str
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    started_at: float | None = None  # mono, the latest attempt
    pid: int | None = None  # the latest attempt's process (its group too), once spawned
    pid_start: int | None = None  # that process's start time in clock ticks since boot
    ended_at: float | None = None  # mono
    first_started_at: float | None = None  # mono
    duration_s: float | None = None  # first start to end, retries included
    wait_s: float = 0.0  # first waiting to first start
    waiting_since: float | None = None
    waits: dict[str, float] = field(default_factory=dict)  # seconds waited, by what on
    open_wait: tuple[str, float] | None = None  # (on, since) while a wait is under way
    wait_log: list[WaitingOn] = field(default_factory=list)  # each distinct wait, in order
    waiting_on: WaitingOn | None = None
    last_reason: str = ""
    output_lines: int = 0
    command: str | list[str] | None = None
    runs: list[tuple[float, float | None]] = field(default_factory=list)  # (start, end) per attempt
    undoing: bool = False
    armed_fails: int = 0  # drill injects that fail the next attempts, one each
    armed_slow: float = 0.0  # a drill inject slows the next attempt by this much
    drill_fail: bool = False  # the current attempt was started failing (an armed inject)
    drill_slow: float = 0.0  # the current attempt was started slowed by this much
    same_attempt: bool = False  # re-run after a crash: the next start repeats the attempt
    may_retry: bool = False  # failed by its own attempt (not by a person): retries may follow
    passed_over: bool = False  # skipped by the plan (a false guard, a branch not taken), not a person


@dataclass(frozen=True)
class Claim:
    resource: str
    by: str
    reason: str
    since: float  # wall clock


@dataclass
class Approval:
    step: str
    question: str = ""
    approvers: tuple[str, ...] = ()
    four_eyes: bool = False
    requested_at: float | None = None  # wall clock
    decision: str | None = None  # granted | rejected
    by: str | None = None
    reason: str = ""
    decided_at: float | None = None  # wall clock


@dataclass(frozen=True)
class Decision:
    step: str | None
    branch: int | None
    when: str | None
    then: tuple[str, ...]
    skipped: tuple[str, ...]
    actor: str
    ts: float


@dataclass(frozen=True)
class Note:
    actor: str
    text: str
    ts: float
    step: str | None = None


@dataclass(frozen=True)
class Escalation:
    to: str
    reason: str
    actor: str
    ts: float
    step: str | None = None


@dataclass(frozen=True)
class Override:
    action: str
    step: str | None
    reason: str
    actor: str
    ts: float


@dataclass(frozen=True)
class ClaimRecord:
    """A claim or release as it happened, for the audit trail (the board shows only live ones)."""

    resource: str
    action: str  # made | released
    by: str
    reason: str
    ts: float


@dataclass
class IncidentState:
    incident: str = ""
    runbook: Runbook | None = None
    runbook_sha256: str = ""
    source: str = ""
    starter: str = ""
    drill: bool = False
    auto: bool = False
    seed: Any = None
    speed: float | None = 1.0  # a drill's --speed; None is max
    vars: dict[str, Any] = field(default_factory=dict)
    started_ts: float | None = None
    started_mono: float | None = None
    ended_ts: float | None = None
    ended_mono: float | None = None
    last_ts: float | None = None
    last_mono: float | None = None
    held_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Outputs the journal redacted (a value equal to a secret), as captured: kept by the live
    run in memory only, for the steps that read them; never folded from the journal, so a
    resumed run does not have them."""
    result: RunResult = RunResult.RUNNING
    steps: dict[str, StepState] = field(default_factory=dict)
    phases: dict[str, str] = field(default_factory=dict)  # phase id -> running | result
    locks: dict[str, list[str]] = field(default_factory=dict)  # resource -> holding steps
    claims: dict[str, Claim] = field(default_factory=dict)
    claim_history: list[ClaimRecord] = field(default_factory=list)
    approvals: dict[str, Approval] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)
    injects: list[dict[str, Any]] = field(default_factory=list)  # drill.inject events, as fired
    planned_injects: list[dict[str, Any]] = field(default_factory=list)  # a drill's --inject file
    rollback: str | None = None  # why the run is winding down by undoing, once it is
    undo_queue: list[str] = field(default_factory=list)  # undos asked for and not yet started
    resumes: int = 0
    deadline_passed: bool = False
    events: int = 0
    last_seq: int = 0
    head_hash: str = ""

    @property
    def duration_s(self) -> float | None:
        """Start to end (or to the latest event while it runs), on the run's clock."""
        if self.started_mono is None:
            return None
        end = self.ended_mono if self.ended_mono is not None else self.last_mono
        return None if end is None else end - self.started_mono
