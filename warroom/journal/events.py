"""The catalogue of everything warroom writes to a journal.

Auditors and scripts read journals directly, so the vocabulary lives in one place: each
EventType carries a docstring saying what its `data` holds, and `catalogue_markdown()` renders
the table the README documents. Every row has the same envelope (seq, incident, ts, mono, actor,
type, step, data); only `data` varies by type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

ENGINE = "warroom"
"""The actor of events the engine writes on its own."""
AUTO = "auto"
"""The actor of decisions taken by `--auto`."""
DRILL = "drill"
"""The actor of drill injects."""


class EventType(str, Enum):
    """Dotted event names; the value is what the journal stores in `type`."""

    RUN_STARTED = "run.started"
    RUN_FINISHED = "run.finished"
    RUN_INTERRUPTED = "run.interrupted"
    RUN_RESUMED = "run.resumed"
    RUN_DEADLINE_PASSED = "run.deadline_passed"
    RUN_ABORTED = "run.aborted"
    PHASE_STARTED = "phase.started"
    PHASE_FINISHED = "phase.finished"
    STEP_WAITING = "step.waiting"
    STEP_STARTED = "step.started"
    STEP_SPAWNED = "step.spawned"
    STEP_OUTPUT = "step.output"
    STEP_SUCCEEDED = "step.succeeded"
    STEP_FAILED = "step.failed"
    STEP_TIMED_OUT = "step.timed_out"
    STEP_RETRY_SCHEDULED = "step.retry_scheduled"
    STEP_SKIPPED = "step.skipped"
    STEP_BLOCKED = "step.blocked"
    STEP_CANCELLED = "step.cancelled"
    STEP_IN_DOUBT = "step.in_doubt"
    ROLLBACK_STARTED = "rollback.started"
    UNDO_STARTED = "undo.started"
    UNDO_SUCCEEDED = "undo.succeeded"
    UNDO_FAILED = "undo.failed"
    DECISION_TAKEN = "decision.taken"
    APPROVAL_REQUESTED = "approval.requested"
    APPROVAL_GRANTED = "approval.granted"
    APPROVAL_REJECTED = "approval.rejected"
    LOCK_ACQUIRED = "lock.acquired"
    LOCK_RELEASED = "lock.released"
    CLAIM_MADE = "claim.made"
    CLAIM_RELEASED = "claim.released"
    NOTE_ADDED = "note.added"
    ESCALATION_RAISED = "escalation.raised"
    OPERATOR_OVERRIDE = "operator.override"
    DRILL_INJECT = "drill.inject"


DATA_FIELDS: dict[EventType, str] = {
    EventType.RUN_STARTED: "runbook (normalized Runbook.to_dict()), runbook_sha256, vars "
    "(redacted), drill (bool), seed, speed, auto (bool), source (runbook path), starter, "
    "injects (a drill's --inject file: kind, at_s, step, ...; resume fires those not yet fired), "
    "chain and key_id (only when keyed: hmac-sha256 and a name of the key, never the key)",
    EventType.RUN_FINISHED: "result (succeeded|failed|rolled_back|aborted|waiting)",
    EventType.RUN_INTERRUPTED: "signal (e.g. SIGINT, SIGTERM)",
    EventType.RUN_RESUMED: "runbook_changed (bool), diff (summary of what changed in the file)",
    EventType.RUN_DEADLINE_PASSED: "deadline_s",
    EventType.RUN_ABORTED: "reason; the actor is who aborted",
    EventType.PHASE_STARTED: "phase (phase id)",
    EventType.PHASE_FINISHED: "phase (phase id), result (succeeded|failed|skipped: its `when` was false)",
    EventType.STEP_WAITING: "on (needs|lock|claim|person|retry), detail, holders (list)",
    EventType.STEP_STARTED: "attempt (1-based), command (rendered, redacted), "
    "drill_fail (bool) and slow_s (a drill attempt started under an armed inject)",
    EventType.STEP_OUTPUT: "stream (stdout|stderr), text (one line, redacted, at most 64 KiB; "
    "bytes that are not UTF-8 as \\\\xNN), more (true when the next output row of the same step "
    "and stream continues this line)",
    EventType.STEP_SUCCEEDED: "attempt, exit_code, duration_s, outputs (name -> value)",
    EventType.STEP_FAILED: "attempt, exit_code, reason",
    EventType.STEP_TIMED_OUT: "attempt, timeout_s",
    EventType.STEP_RETRY_SCHEDULED: "attempt (the one that comes next), delay_s",
    EventType.STEP_SKIPPED: "reason (guard false, branch not taken, needs skipped, operator)",
    EventType.STEP_BLOCKED: "by (the failed need)",
    EventType.STEP_CANCELLED: "reason",
    EventType.STEP_SPAWNED: "attempt, pid (also its process group), start (the process's start "
    "time in clock ticks since boot: a pid reused by another process does not match); after "
    "step.started, once the process exists",
    EventType.STEP_IN_DOUBT: "attempt (started before a crash, no result journaled)",
    EventType.ROLLBACK_STARTED: "reason, undo (step ids whose undo runs, in order: the failed "
    "step's own first, then completed steps in reverse completion order)",
    EventType.UNDO_STARTED: "command (rendered, redacted)",
    EventType.UNDO_SUCCEEDED: "exit_code",
    EventType.UNDO_FAILED: "reason, exit_code",
    EventType.DECISION_TAKEN: "branch (index), when (expression text, null for else), then "
    "(ids), skipped (ids)",
    EventType.APPROVAL_REQUESTED: "question, approvers (list), four_eyes (bool)",
    EventType.APPROVAL_GRANTED: "reason; the actor is the approver",
    EventType.APPROVAL_REJECTED: "reason; the actor is the approver",
    EventType.LOCK_ACQUIRED: "locks (list of lock names, \"name:shared\" for shared)",
    EventType.LOCK_RELEASED: "locks (list of lock names)",
    EventType.CLAIM_MADE: "resource, reason, by (optional; defaults to the actor), forced (a resource the runbook never names, claimed with --force)",
    EventType.CLAIM_RELEASED: "resource, reason",
    EventType.NOTE_ADDED: "text",
    EventType.ESCALATION_RAISED: "to (person or rota), reason",
    EventType.OPERATOR_OVERRIDE: "action (retry|skip|done|fail|rerun|undo), reason; the actor "
    "is the operator; an undo is queued and run by the live runner or the next resume",
    EventType.DRILL_INJECT: "kind (fail|claim|note|slow), details; armed (bool: a fail or slow "
    "that waits for the step's next attempt)",
}
"""What each type's `data` holds: the contract auditors and scripts rely on."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event the engine wants journaled; the writer gives it seq, incident and hash."""

    type: EventType | str
    actor: str
    ts: float
    mono: float
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """One journal row as written, with its place in the hash chain."""

    seq: int
    incident: str
    ts: float
    mono: float
    actor: str
    type: str
    step: str | None
    data: dict[str, Any]
    prev_hash: str = ""
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """The hashed part of the row: everything but the chain fields."""
        return {
            "seq": self.seq,
            "incident": self.incident,
            "ts": self.ts,
            "mono": self.mono,
            "actor": self.actor,
            "type": self.type,
            "step": self.step,
            "data": self.data,
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}


def catalogue_markdown() -> str:
    """The event table for the README, generated so it cannot drift from the code."""
    lines = [
        "Every row: `seq` (global per file), `incident`, `ts` (wall clock, epoch seconds), "
        "`mono` (the run's monotonic clock, seconds), `actor` (a person, `warroom`, `auto` or "
        "`drill`), `type`, `step` (or null), `data`, `prev_hash`, `hash`.",
        "",
        "| type | data |",
        "|---|---|",
    ]
    lines += [f"| `{t.value}` | {DATA_FIELDS[t].replace('|', chr(92) + '|')} |" for t in EventType]
    return "\n".join(lines) + "\n"
