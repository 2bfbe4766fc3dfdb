"""Which steps start now: needs, guards, phases, locks and claims, max_parallel's slots.

One pass decides every step marked dirty (by the events folded since the last pass) and
repeats until a pass marks no more. A step starts only when its needs have finished and none
failed, its guard holds, its phase is the active one, and its locks and a slot are free.
"""

from __future__ import annotations

from typing import Any

from warroom.engine import people, policy
from warroom.engine.waits import set_waiting, take_locks
from warroom.engine.context import evaluate, lost_outputs, resolver
from warroom.engine.drill import outcome
from warroom.engine.effects import Spawn
from warroom.engine.ledger import UNCOUNTED, Ledger
from warroom.engine.timers import Timer, TimerKind
from warroom.journal.events import EventType
from warroom.journal.state import PhaseStatus, RunResult, StepState, StepStatus, WaitReason
from warroom.runbook.model import FailurePolicy, Phase, Step, StepKind
from warroom.runbook.templates import CommandRenderError, RenderedCommand, render_command

_BAD_NEED = frozenset({StepStatus.FAILED, StepStatus.CANCELLED, StepStatus.BLOCKED, StepStatus.UNDONE,
                       StepStatus.UNDO_FAILED})
_CANDIDATES = frozenset({StepStatus.PENDING, StepStatus.WAITING, StepStatus.BLOCKED})
_HELD = frozenset({WaitReason.PERSON, WaitReason.RETRY})


def schedule(ld: Ledger) -> None:
    """Decides every dirty step, until deciding marks no more."""
    while True:
        policy.apply_failures(ld)
        st = ld.state
        if st.rollback is not None or st.result is not RunResult.RUNNING:
            ld.dirty.clear()
            return
        phase, phase_failed = active_phase(ld)
        if phase_events(ld, phase):
            continue  # a phase was passed over by its guard: the next one comes up
        ld.wake_slot_waiters()
        if not ld.dirty:
            return
        _pass(ld, phase, phase_failed)


def active_phase(ld: Ledger) -> tuple[Phase | None, bool]:
    """The phase whose steps may start, and whether it ended without meeting its policy. A
    `continue` phase that ended with failures does not hold back the phases after it."""
    for phase in ld.runbook.phases:
        done, ok = policy.scope_result(ld, phase.step_ids, phase.on_failure, phase.quorum)
        if not done or not (ok or phase.on_failure is FailurePolicy.CONTINUE):
            return phase, done and not ok
    return None, False


def phase_events(ld: Ledger, current: Phase | None) -> bool:
    """Journals phases ending and the current one coming up; True when the current one's
    `when` was false and it was passed over (all its steps skipped)."""
    phases = ld.state.phases
    for phase in ld.runbook.phases:
        done, ok = policy.scope_result(ld, phase.step_ids, phase.on_failure, phase.quorum)
        if phases.get(phase.id) == PhaseStatus.RUNNING and done:
            result = PhaseStatus.SUCCEEDED if ok else PhaseStatus.FAILED
            ld.emit(ld.event(EventType.PHASE_FINISHED, phase=phase.id, result=result.value))
            ld.dirty.update(sid for p in ld.runbook.phases for sid in p.step_ids)
        if phase is current:
            if phases.get(phase.id) != PhaseStatus.RUNNING and not done:
                return _phase_comes_up(ld, phase)
            break
    return False


def _phase_comes_up(ld: Ledger, phase: Phase) -> bool:
    """Starts a phase, or passes it over when its guard is false; a guard that cannot be
    evaluated fails the phase's steps with why, and its policy judges that."""
    verdict = True if phase.when is None else evaluate(ld.state, ld.runbook, phase.id, phase.when)
    ld.dirty.update(sid for p in ld.runbook.phases for sid in p.step_ids)
    if verdict is False:
        steps = ld.state.steps
        ld.emit(
            *(ld.event(EventType.STEP_SKIPPED, sid, reason=f"phase {phase.id}: when: {phase.when} is false")
              for sid in phase.step_ids if not steps[sid].status.finished),
            ld.event(EventType.PHASE_FINISHED, phase=phase.id, result=PhaseStatus.SKIPPED.value),
        )
        return True
    ld.emit(ld.event(EventType.PHASE_STARTED, phase=phase.id))
    if isinstance(verdict, str):
        for sid in phase.step_ids:
            policy.fail_step(ld, ld.steps[sid], f"phase {phase.id}: {verdict}")
    return False


def _phase_index(ld: Ledger, phase_id: str) -> int:
    return next(i for i, p in enumerate(ld.runbook.phases) if p.id == phase_id)


def _pass(ld: Ledger, phase: Phase | None, phase_failed: bool) -> None:
    candidates = sorted(ld.dirty, key=ld.order.__getitem__)
    ld.dirty.clear()
    limit = ld.runbook.max_parallel
    running = len(ld.running)
    for sid in candidates:
        s = ld.state.steps[sid]
        if s.status not in _CANDIDATES:
            continue
        if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on in _HELD:
            continue
        step = ld.steps[sid]
        if phase is not None and step.phase is not None and step.phase != phase.id:
            if phase_failed and s.status is not StepStatus.BLOCKED and _phase_index(ld, step.phase) > _phase_index(ld, phase.id):
                ld.emit(ld.event(EventType.STEP_BLOCKED, sid, by=phase.id))
            continue
        if _held_by_needs(ld, step, s):
            continue
        if step.when is not None:
            verdict = evaluate(ld.state, ld.runbook, step.id, step.when)
            if isinstance(verdict, str):
                policy.fail_step(ld, step, verdict)
                continue
            if not verdict:
                ld.emit(ld.event(EventType.STEP_SKIPPED, sid, reason=f"when: {step.when} is false"))
                continue
        if _waits_for_resources(ld, step, s):
            continue
        counts = step.kind not in UNCOUNTED
        if counts and limit is not None and running >= limit:
            set_waiting(ld, s, WaitReason.SLOT, f"max_parallel {limit}")
            ld.queue_for_slot(sid)
            continue
        running += counts
        start_step(ld, step)


def _held_by_needs(ld: Ledger, step: Step, s: StepState) -> bool:
    """Blocks, skips or holds a step by its needs; True when it cannot start now."""
    needs = ld.needs[step.id]
    states = [ld.state.steps[n] for n in needs]
    bad = next((n for n, ns in zip(needs, states) if ns.status in _BAD_NEED), None)
    if bad is not None:
        if s.status is not StepStatus.BLOCKED:
            ld.emit(ld.event(EventType.STEP_BLOCKED, step.id, by=bad))
        return True
    if any(not ns.status.finished for ns in states):
        return True
    if needs and all(ns.status is StepStatus.SKIPPED and ns.passed_over for ns in states):
        # a step skipped by a person counts as met; only the plan's own skips pass over dependents
        ld.emit(ld.event(EventType.STEP_SKIPPED, step.id, reason="all its needs were passed over"))
        return True
    if s.status is StepStatus.BLOCKED:
        set_waiting(ld, s, WaitReason.NEEDS, "a failed need was resolved")
    return False


def _waits_for_resources(ld: Ledger, step: Step, s: StepState) -> bool:
    for lock in step.locks:
        claim = ld.state.claims.get(lock.name)
        if claim is not None:
            set_waiting(ld, s, WaitReason.CLAIM, f"{lock.name} claimed: {claim.reason}", (claim.by,))
            return True
    for lock in step.locks:
        holders = [h for h in ld.state.locks.get(lock.name, []) if h != step.id]
        conflicting = [h for h in holders if not (lock.shared and _holds_shared(ld, h, lock.name))]
        if conflicting:
            set_waiting(ld, s, WaitReason.LOCK, lock.name, tuple(conflicting))
            return True
    return False


def _holds_shared(ld: Ledger, holder: str, name: str) -> bool:
    step = ld.steps.get(holder)
    return step is not None and any(lk.name == name and lk.shared for lk in step.locks)


# starting --------------------------------------------------------------------------------------
def start_step(ld: Ledger, step: Step) -> None:
    kind = step.kind
    if kind is StepKind.DECIDE:
        _decide_branch(ld, step)
        return
    take_locks(ld, step)
    if kind in (StepKind.RUN, StepKind.CHECK, StepKind.WAIT):
        start_attempt(ld, step)
    else:
        people.ask(ld, step)


def start_attempt(ld: Ledger, step: Step) -> None:
    sid = step.id
    s = ld.state.steps[sid]
    attempt = s.attempts if s.same_attempt and s.attempts else s.attempts + 1
    token = ld.next_token(sid)
    ld.polls[sid] = 0
    if step.kind is StepKind.WAIT:
        ld.emit(ld.event(EventType.STEP_STARTED, sid, attempt=attempt))
        ld.arm(step.wait_s or 0.0, Timer(TimerKind.WAIT, sid, token))
        return
    assert step.command is not None
    lost = lost_outputs(ld.state, step.command)
    if lost:
        set_waiting(ld, s, WaitReason.PERSON, f"reads {', '.join(lost)}, equal to a secret: the journal keeps only *** "
                    "and this run was resumed; do it by hand and mark it done (--reason), or skip it")
        return
    refusal = ""
    try:
        rendered: RenderedCommand | None = render_command(step.command, resolver(ld.state, ld.runbook))
    except CommandRenderError as exc:
        rendered, refusal = None, f"cannot run the command: {exc}"
    shown = rendered.shown if rendered is not None else step.command if isinstance(step.command, str) else list(step.command)
    data: dict[str, Any] = {"attempt": attempt, "command": shown}
    if ld.options.drill and s.armed_fails:
        data["drill_fail"] = True
    if ld.options.drill and s.armed_slow:
        data["slow_s"] = s.armed_slow
    ld.emit(ld.event(EventType.STEP_STARTED, sid, **data))
    if rendered is None:
        policy.fail_step(ld, step, refusal)
        return
    if step.timeout_s is not None:
        ld.arm(step.timeout_s, Timer(TimerKind.TIMEOUT, sid, token))
    launch(ld, step, token, rendered)


def launch(ld: Ledger, step: Step, token: int, command: RenderedCommand | None, *, since: float | None = None) -> None:
    """The attempt's action: the command, or a drill's simulated result, due its duration
    after `since` (now, or when a resumed attempt began)."""
    if not ld.options.drill:
        assert command is not None
        ld.effects.append(Spawn(step.id, token, command, ld.state.steps[step.id].attempts))
        return
    s = ld.state.steps[step.id]
    start = ld.clock.now() if since is None else since
    result = outcome(step, s.attempts, ld.options.seed, force_fail=s.drill_fail, slow_by=s.drill_slow)
    if result.stdout:
        ld.write_output(step.id, "stdout", result.stdout)
    ld.arm_at(start + result.duration_s, Timer(TimerKind.DONE, step.id, token, result))


def _decide_branch(ld: Ledger, step: Step) -> None:
    chosen = None
    for index, branch in enumerate(step.branches):
        if branch.when is None:
            chosen = index
            break
        verdict = evaluate(ld.state, ld.runbook, step.id, branch.when)
        if isinstance(verdict, str):
            policy.fail_step(ld, step, verdict)
            return
        if verdict:
            chosen = index
            break
    assert chosen is not None  # the loader insists on an else branch
    branch = step.branches[chosen]
    skipped = [t for i, b in enumerate(step.branches) if i != chosen for t in b.then]
    steps = ld.state.steps
    ld.emit(  # its result last: a crash before it leaves the decision to be taken again
        ld.event(EventType.STEP_STARTED, step.id, attempt=1),
        ld.event(EventType.DECISION_TAKEN, step.id, branch=chosen, when=branch.when, then=list(branch.then), skipped=skipped),
        *(ld.event(EventType.STEP_SKIPPED, t, reason=f"branch not taken at {step.id}") for t in skipped
          if not steps[t].status.finished),
        ld.event(EventType.STEP_SUCCEEDED, step.id, attempt=1, outputs={}, exit_code=None),
    )

