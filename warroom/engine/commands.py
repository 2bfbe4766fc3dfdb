"""Operator commands: checked against the incident's state, then journaled with actor and reason.

The console, a live engine and a shell (`warroom approve ...` on a stopped incident) all go
through `check` and `events_for`, so a command refused in one place is refused everywhere,
for the same reason.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from enum import Enum

from warroom.journal.events import EventType, NewEvent
from warroom.journal.state import IncidentState, StepStatus, WaitReason
from warroom.runbook.gates import possible_approvers
from warroom.runbook.checks import did_you_mean
from warroom.runbook.model import StepKind


class Action(str, Enum):
    APPROVE = "approve"
    REJECT = "reject"
    DONE = "done"
    FAIL = "fail"
    RETRY = "retry"
    SKIP = "skip"
    UNDO = "undo"
    CLAIM = "claim"
    RELEASE = "release"
    NOTE = "note"
    ABORT = "abort"


STEP_ACTIONS = {Action.APPROVE, Action.REJECT, Action.DONE, Action.FAIL, Action.RETRY, Action.SKIP, Action.UNDO}
OVERRIDES = {Action.DONE, Action.FAIL, Action.RETRY, Action.SKIP, Action.UNDO}
"""Actions that change the plan's course; they need a reason unless a person's step asked for them."""

_PERSON_KINDS = (StepKind.MANUAL, StepKind.ESCALATE)
_RETRYABLE = {StepStatus.FAILED, StepStatus.IN_DOUBT, StepStatus.CANCELLED, StepStatus.BLOCKED}
_UNDOABLE = {StepStatus.SUCCEEDED, StepStatus.IN_DOUBT, StepStatus.UNDO_FAILED}
"""Undo a step that ran, one that may have (in doubt: the person says it did), or again."""
_SKIPPABLE = {StepStatus.PENDING, StepStatus.WAITING, StepStatus.FAILED, StepStatus.BLOCKED,
              StepStatus.IN_DOUBT, StepStatus.CANCELLED}


@dataclass(frozen=True)
class OperatorCommand:
    action: Action
    target: str  # a step id, a resource, or a note's text
    actor: str
    reason: str = ""
    force: bool = False  # claim: a resource the runbook never names (a typo is refused without it)


class Refused(Exception):
    """A command the state does not allow; the message says why and changes nothing."""


def needs_reason(state: IncidentState, command: OperatorCommand) -> bool:
    """Overrides need a reason, except finishing a person's own step (manual, escalate)."""
    if command.action not in OVERRIDES or state.runbook is None:
        return False
    if command.target not in state.steps:
        return False
    step = state.runbook.step(command.target)
    status = state.steps[command.target].status
    if command.action in (Action.DONE, Action.FAIL) and step.kind in _PERSON_KINDS and status is StepStatus.WAITING:
        return False
    return True


def check(state: IncidentState, command: OperatorCommand) -> None:
    """Raises Refused with a clear reason when `command` is not allowed now."""
    if state.runbook is None:
        raise Refused("no incident")
    action, target = command.action, command.target
    if state.result.ended and action is not Action.NOTE:
        raise Refused(f"the incident has ended ({state.result.value}); only notes can be added")
    if action in STEP_ACTIONS:
        _check_step(state, command)
    elif action is Action.CLAIM:
        if not target:
            raise Refused("claim what? name a resource")
        held = state.claims.get(target)
        if held is not None:
            raise Refused(f"{target} is already claimed by {held.by} ({held.reason or 'no reason given'})")
        _check_resource(state, command)
    elif action is Action.RELEASE:
        if target not in state.claims:
            claimed = ", ".join(state.claims) or "none"
            raise Refused(f"{target} is not claimed (claimed now: {claimed})")
        holder = state.claims[target].by
        if holder != command.actor and not command.reason.strip():
            raise Refused(f"{target} is claimed by {holder}: releasing someone else's claim needs a reason (--reason TEXT)")
    elif action is Action.NOTE:
        if not target.strip():
            raise Refused("a note needs text")
    if needs_reason(state, command) and not command.reason.strip():
        raise Refused(f"{action.value} {target} overrides the plan: give a reason (--reason TEXT)")


def _check_resource(state: IncidentState, command: OperatorCommand) -> None:
    """A claim names a resource the runbook's steps lock: a typo would hold nothing back
    while everyone believes it does. --force claims one it never names (a shared system)."""
    assert state.runbook is not None
    known = state.runbook.resources
    if command.target in known or command.force:
        return
    raise Refused(f"{command.target} is not a resource this runbook names (its resources: "
                  f"{', '.join(known) or 'none'}){did_you_mean(command.target, known)}; claim it anyway with --force")


def _check_step(state: IncidentState, command: OperatorCommand) -> None:
    action, target = command.action, command.target
    runbook = state.runbook
    assert runbook is not None
    if target not in state.steps:
        raise Refused(f"no step {target!r} in this incident")
    step = runbook.step(target)
    status = state.steps[target].status
    if action in (Action.APPROVE, Action.REJECT):
        if step.kind is not StepKind.APPROVAL:
            raise Refused(f"{target} is a {step.kind.value} step, not an approval")
        approval = state.approvals.get(target)
        if approval is None or status is not StepStatus.WAITING:
            raise Refused(f"{target} is not waiting for an answer (it is {status.value})")
        if approval.decision is not None:
            raise Refused(f"{target} was already {approval.decision} by {approval.by}")
        _check_answerer(state, command)
    elif action is Action.DONE and status is StepStatus.UNDO_FAILED:
        return  # the undo failed or was cut short; a person did it by hand
    elif action in (Action.DONE, Action.FAIL):
        if status is StepStatus.IN_DOUBT and state.rollback is not None and step.undo is not None:
            raise Refused(f"a rollback is on: if {target} ran, undo it (undo {target}); if it did not, skip it")
        person_step = status is StepStatus.WAITING and (step.kind in _PERSON_KINDS or awaits_person(state, target))
        if not (person_step or status in (StepStatus.IN_DOUBT, StepStatus.FAILED, StepStatus.BLOCKED, StepStatus.CANCELLED)):
            raise Refused(f"{target} is {status.value}; only a manual or escalation step waiting on a person, or a failed or in-doubt step, can be marked {action.value}")
        if step.kind is StepKind.APPROVAL:
            raise Refused(f"{target} is an approval: approve or reject it")
    elif action is Action.RETRY:
        if status not in _RETRYABLE:
            raise Refused(f"{target} is {status.value}; only a failed, in-doubt, cancelled or blocked step can be retried")
    elif action is Action.SKIP:
        if status not in _SKIPPABLE:
            raise Refused(f"{target} is {status.value} and cannot be skipped")
        if step.kind is StepKind.APPROVAL:
            _check_answerer(state, command)  # a skip is an approval without the question
    elif action is Action.UNDO:
        if step.undo is None:
            raise Refused(f"{target} has no undo")
        if status not in _UNDOABLE:
            raise Refused(f"{target} is {status.value}; only a succeeded or in-doubt step, or a failed undo, can be undone")


def _check_answerer(state: IncidentState, command: OperatorCommand) -> None:
    reason = answer_refusal(state, command.target, command.actor, command.action)
    if reason is not None:
        raise Refused(reason)


def answer_refusal(state: IncidentState, step_id: str, actor: str, action: Action = Action.APPROVE) -> str | None:
    """The one rule for who may answer a gate (approve, reject or skip it): its approvers (or
    the commanders), never the run's starter under four eyes. None when `actor` may, else why
    not; the console asks here before it offers the gate to someone."""
    runbook = state.runbook
    assert runbook is not None
    if runbook.step(step_id).four_eyes and actor == state.starter:
        return f"{step_id} needs four eyes: {actor} started the run and may not {action.value} it"
    allowed = may_answer(state, step_id)
    if allowed and actor not in allowed:
        return f"{actor} may not answer {step_id}; ask {', '.join(allowed)}"
    return None


def may_answer(state: IncidentState, step_id: str) -> tuple[str, ...]:
    """Who may approve or reject a step; empty means anyone (but the starter under four eyes)."""
    runbook = state.runbook
    assert runbook is not None
    return possible_approvers(runbook, runbook.step(step_id))


def first_answerer(state: IncidentState, step_id: str) -> str | None:
    """The first person named to answer a gate who may do so; None when none is named (anyone
    may) or none of those named may."""
    return next((p for p in may_answer(state, step_id) if answer_refusal(state, step_id, p) is None), None)


def events_for(state: IncidentState, command: OperatorCommand, ts: float, mono: float) -> list[NewEvent]:
    """The events that journal `command` (call `check` first)."""
    action, target, actor, reason = command.action, command.target, command.actor, command.reason
    if action is Action.APPROVE:
        return [NewEvent(EventType.APPROVAL_GRANTED, actor, ts, mono, target, {"reason": reason})]
    if action is Action.REJECT:
        return [NewEvent(EventType.APPROVAL_REJECTED, actor, ts, mono, target, {"reason": reason})]
    if action is Action.CLAIM:
        forced = {"forced": True} if command.force and state.runbook is not None and target not in state.runbook.resources else {}
        return [NewEvent(EventType.CLAIM_MADE, actor, ts, mono, None, {"resource": target, "by": actor, "reason": reason, **forced})]
    if action is Action.RELEASE:
        return [NewEvent(EventType.CLAIM_RELEASED, actor, ts, mono, None, {"resource": target, "reason": reason})]
    if action is Action.NOTE:
        return [NewEvent(EventType.NOTE_ADDED, actor, ts, mono, None, {"text": target})]
    if action is Action.ABORT:
        return [NewEvent(EventType.RUN_ABORTED, actor, ts, mono, None, {"reason": reason})]
    return [NewEvent(EventType.OPERATOR_OVERRIDE, actor, ts, mono, target, {"action": action.value, "reason": reason})]


def awaits_person(state: IncidentState, step_id: str) -> bool:
    """Whether a step cannot go on without someone: in doubt after a crash, or waiting on a
    person (an approval, a manual or escalation step). The shell's continue hint and the
    console's attention list both ask here."""
    s = state.steps.get(step_id)
    if s is None:
        return False
    if s.status is StepStatus.IN_DOUBT:
        return True
    return s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on is WaitReason.PERSON


def journal_flag(journal: str) -> str:
    """The `--journal PATH` a hint must carry (shell-quoted), unless it is the default one."""
    default = os.environ.get("WARROOM_JOURNAL", "warroom.db")
    return "" if os.path.abspath(journal) == os.path.abspath(default) else f" --journal {shlex.quote(journal)}"


def continue_hint(state: IncidentState, journal_flag: str = "") -> list[str]:
    """The shell commands that let a run stopped on people go on, one per waiting step;
    `journal_flag` (` --journal PATH`) names a journal that is not the default one."""
    runbook = state.runbook
    if runbook is None:
        return []
    hints: list[str] = []
    incident = f"--incident {state.incident}{journal_flag}"
    for sid, s in state.steps.items():
        if not (awaits_person(state, sid) or s.status is StepStatus.UNDO_FAILED):
            continue
        step = runbook.step(sid)
        if s.status is StepStatus.IN_DOUBT and state.rollback is not None and step.undo is not None:
            hints.append(f"{sid} is in doubt in a rollback: if it ran, warroom undo {sid} {incident} --reason '...'  |  if it did not, warroom skip {sid} {incident} --reason '...'")
        elif s.status is StepStatus.UNDO_FAILED:
            hints.append(f"{sid}'s undo failed or was cut short: warroom undo {sid} {incident} --reason '...' runs it again  |  warroom done {sid} {incident} --reason '...' if it was undone by hand")
        elif s.status is StepStatus.IN_DOUBT:
            pid = f" as pid {s.pid}" if s.pid is not None else ""
            hints.append(f"{sid} is in doubt (started{pid}, no result): warroom done {sid} {incident} --reason '...'  |  warroom retry {sid} {incident} --reason '...'  |  warroom skip {sid} {incident} --reason '...'")
        elif step.kind is StepKind.APPROVAL:
            who = first_answerer(state, sid)
            by = f" --as {who}" if who else ""
            hints.append(f"{sid} waits for approval: warroom approve {sid} {incident}{by}  |  warroom reject {sid} {incident} --reason '...'")
        else:
            why = "" if step.kind in _PERSON_KINDS else " --reason '...'"  # an override of a machine step
            hints.append(f"{sid} waits for a person: warroom done {sid} {incident}{why}  |  warroom fail {sid} {incident}{why}")
    for resource, claim in state.claims.items():
        hints.append(f"{resource} is claimed by {claim.by}: warroom release {resource} {incident} --as {claim.by}")
    if hints:
        hints.append(f"then: warroom resume {state.incident} --headless{journal_flag}")
    return hints
