"""What a failure means for the rest, and how a run winds down: rollback, abort, the end.

A step that failed for good is judged by its scope's policy (the phase's, else the
runbook's): fail-fast starts a rollback, quorum escalates once the quorum can no longer be
met, continue lets the independent steps go on. A rollback is journaled (`rollback.started`
with the undos it will run, in order), so a resume carries on from the journal alone.
"""

from __future__ import annotations

from typing import Any

from warroom.engine.context import resolver
from warroom.engine.drill import outcome
from warroom.engine.effects import SpawnUndo, Stop
from warroom.engine.inputs import StopReason, UndoDone
from warroom.engine.ledger import Ledger
from warroom.engine.people import escalate_once
from warroom.engine.timers import Timer, TimerKind
from warroom.engine.waits import release_locks
from warroom.journal.events import EventType
from warroom.journal.state import PhaseStatus, RunResult, StepStatus
from warroom.runbook.model import FailurePolicy, Step
from warroom.runbook.templates import CommandRenderError, render_command

_NOT_OK = frozenset({StepStatus.FAILED, StepStatus.BLOCKED, StepStatus.CANCELLED, StepStatus.UNDO_FAILED})
_WOUND_DOWN = frozenset({StepStatus.PENDING, StepStatus.WAITING, StepStatus.BLOCKED, StepStatus.IN_DOUBT})


def scope_of(ld: Ledger, step: Step) -> tuple[tuple[str, ...], FailurePolicy, Any]:
    phase = ld.runbook.phase_of(step.id)
    if phase is not None:
        return phase.step_ids, phase.on_failure, phase.quorum
    return ld.runbook.step_ids, ld.runbook.on_failure, ld.runbook.quorum


def scope_result(ld: Ledger, ids: tuple[str, ...], policy: FailurePolicy, quorum: Any) -> tuple[bool, bool]:
    """Whether every step of a scope has finished, and whether it met its policy."""
    steps = ld.state.steps
    done = all(steps[sid].status.finished for sid in ids)
    if policy is FailurePolicy.QUORUM and quorum is not None:
        wins = sum(1 for sid in ids if steps[sid].status is StepStatus.SUCCEEDED)
        return done, wins >= quorum.required(len(ids))
    return done, not any(steps[sid].status in _NOT_OK for sid in ids)


def fail_step(ld: Ledger, step: Step, reason: str) -> None:
    ld.emit(ld.event(EventType.STEP_FAILED, step.id, attempt=ld.state.steps[step.id].attempts, reason=reason))


def apply_failures(ld: Ledger) -> None:
    """Applies the scope's policy to each step that failed for good since the last call."""
    failed, ld.failures = sorted(ld.failures, key=ld.order.__getitem__), set()
    for sid in failed:
        if ld.state.steps[sid].status is not StepStatus.FAILED:
            continue  # a retry is scheduled
        ids, policy, quorum = scope_of(ld, ld.steps[sid])
        ld.dirty.update(ids)
        if policy is FailurePolicy.FAIL_FAST:
            if ld.state.rollback is None and ld.state.result is RunResult.RUNNING:
                start_rollback(ld, f"fail-fast: {sid} failed", sid)
        elif policy is FailurePolicy.QUORUM and quorum is not None:
            possible = sum(1 for s in ids if _may_succeed(ld, s))
            if possible < quorum.required(len(ids)):
                ld.emit(ld.event(EventType.ESCALATION_RAISED, sid, to=ld.commander(),
                                 reason=f"quorum of {quorum} can no longer be met"))


def _may_succeed(ld: Ledger, sid: str) -> bool:
    """Whether a step has succeeded or still can: not ended otherwise, and no need of it
    (however far back) has failed, so a dependent about to be blocked does not count."""
    status = ld.state.steps[sid].status
    if status is StepStatus.SUCCEEDED:
        return True
    if status.finished:
        return False
    return all(ld.state.steps[n].status is StepStatus.SKIPPED or _may_succeed(ld, n) for n in ld.needs[sid])


def start_rollback(ld: Ledger, why: str, failed: str) -> None:
    """The failed step's own undo first (its command may have half-applied), then the undos
    of completed steps in reverse completion order."""
    steps = ld.state.steps
    completed = sorted(
        (s for s in steps.values() if s.status is StepStatus.SUCCEEDED and ld.steps[s.id].undo is not None),
        key=lambda s: (s.ended_at or 0.0, ld.order[s.id]), reverse=True,
    )
    order = ([failed] if ld.steps[failed].undo is not None else []) + [s.id for s in completed]
    ld.emit(ld.event(EventType.ROLLBACK_STARTED, failed, reason=why, undo=order))
    wind_down(ld, why)


def wind_down(ld: Ledger, why: str) -> None:
    """Stops what runs and cancels what has not started: no step starts from here on. A step
    in doubt that has an undo is never silently cancelled: it may have run."""
    cancelled = []
    for sid, s in ld.state.steps.items():
        if s.status is StepStatus.RUNNING:
            stop(ld, sid, StopReason.CANCELLED)
        elif s.status is StepStatus.IN_DOUBT and ld.state.rollback is not None and ld.steps[sid].undo is not None:
            _settle_doubt(ld, ld.steps[sid])
        elif s.status in _WOUND_DOWN and sid in ld.steps:
            ld.next_token(sid)
            release_locks(ld, ld.steps[sid])
            cancelled.append(sid)
    if cancelled:
        ld.emit(*(ld.event(EventType.STEP_CANCELLED, sid, reason=why) for sid in cancelled))


def _settle_doubt(ld: Ledger, step: Step) -> None:
    """A rollback undoes a step in doubt when its undo is safe to run whether or not the step
    ran (idempotent, or a drill); otherwise the commander is asked: did it run?"""
    if step.idempotent or ld.options.drill:
        if step.id not in ld.state.undo_queue:
            ld.emit(ld.event(EventType.OPERATOR_OVERRIDE, step.id, action="undo",
                             reason="in doubt in a rollback: its undo is safe to run"))
    else:
        escalate_once(ld, step.id, ld.commander(), f"rollback: {step.id} is in doubt; undo it if it ran, skip it if it did not")


def stop(ld: Ledger, sid: str, why: StopReason) -> None:
    """Ends a running attempt; its report (Done with `stopped`) then settles the step."""
    token = ld.tokens.get(sid, 0)
    if ld.stopping.get(sid) == token:
        return
    ld.stopping[sid] = token
    ld.effects.append(Stop(sid, token, why))


def next_undo(ld: Ledger) -> None:
    st = ld.state
    if ld.undoing is not None or not st.undo_queue or st.result is RunResult.ABORTED:
        return
    if any(st.steps[sid].status is StepStatus.RUNNING for sid in ld.open):
        return  # cancelled attempts report first
    sid = st.undo_queue[0]
    step = ld.steps[sid]
    assert step.undo is not None
    try:
        command = render_command(step.undo, resolver(st, ld.runbook))
    except CommandRenderError as exc:
        ld.emit(ld.event(EventType.UNDO_STARTED, sid, command=step.undo if isinstance(step.undo, str) else list(step.undo)))
        undo_done(ld, UndoDone(sid, False, f"cannot run the undo: {exc}"))
        return
    ld.emit(ld.event(EventType.UNDO_STARTED, sid, command=command.shown))
    if ld.options.drill:
        ld.arm(outcome(step, 0, ld.options.seed).duration_s / 2, Timer(TimerKind.UNDO, sid))
    else:
        ld.effects.append(SpawnUndo(sid, command))


def undo_done(ld: Ledger, done: UndoDone) -> None:
    if ld.state.steps[done.step].undoing is False:
        return
    if done.ok:
        ld.emit(ld.event(EventType.UNDO_SUCCEEDED, done.step))
    else:
        ld.emit(
            ld.event(EventType.UNDO_FAILED, done.step, reason=done.reason),
            ld.event(EventType.ESCALATION_RAISED, done.step, to=ld.commander(),
                     reason=f"undo of {done.step} failed: {done.reason}"),
        )
    ld.dirty.update(ld.dependents[done.step])


def finish_if_done(ld: Ledger) -> bool:
    """Journals the run's end once nothing is left to do; True when the run has ended."""
    next_undo(ld)
    st = ld.state
    if st.result is RunResult.ABORTED:
        return not ld.open
    if ld.undoing is not None or st.undo_queue or ld.dirty or ld.open:
        return False
    if st.result is not RunResult.RUNNING:
        return False
    if st.rollback is not None:
        undone = any(s.status is StepStatus.UNDONE for s in st.steps.values())
        undo_failed = any(s.status is StepStatus.UNDO_FAILED for s in st.steps.values())
        result = RunResult.ROLLED_BACK if undone and not undo_failed else RunResult.FAILED
        ld.emit(ld.event(EventType.ESCALATION_RAISED, to=ld.commander(), reason=st.rollback))
    else:
        result = RunResult.SUCCEEDED if _all_scopes_ok(ld) else RunResult.FAILED
    ld.emit(ld.event(EventType.RUN_FINISHED, result=result.value))
    return True


def _all_scopes_ok(ld: Ledger) -> bool:
    """A phased run succeeds when every phase that ran met its policy, except a `continue`
    phase followed by one that did: the later phases say how the run ended, unless the
    deadline passed meanwhile (then the failures it went on past count)."""
    rb = ld.runbook
    if rb.phases:
        ran = [(p, scope_result(ld, p.step_ids, p.on_failure, p.quorum)[1]) for p in rb.phases
               if ld.state.phases.get(p.id) != PhaseStatus.SKIPPED]
        if not all(ok or p.on_failure is FailurePolicy.CONTINUE for p, ok in ran) or (ran and not ran[-1][1]):
            return False
        return not (ld.state.deadline_passed and not all(ok for _, ok in ran))
    return scope_result(ld, rb.step_ids, rb.on_failure, rb.quorum)[1]
