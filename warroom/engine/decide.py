"""The one door for every input: a command, an attempt's result, a timer, an inject.

Each function takes the Ledger and an input, journals what the input means (events staged
and folded at once) and asks for effects; what happens next (which steps start, whether a
rollback begins, whether the run has ended) is derived from the resulting state by
`schedule` and `policy.finish_if_done`, the same way after a live command, after a shell
command followed by `resume`, and after a crash. No asyncio, no I/O: the runner does that.
"""

from __future__ import annotations

from typing import Any

from warroom.engine import people, policy
from warroom.engine.capture import capture_outputs
from warroom.engine.commands import Action, OperatorCommand, check, events_for
from warroom.engine.context import evaluate, resolver
from warroom.engine.drill import DrillOutcome, Inject, InjectKind
from warroom.engine.inputs import Done, Exited, Spawned, StopReason, UndoDone
from warroom.engine.ledger import Ledger
from warroom.engine.policy import stop
from warroom.engine.schedule import launch, start_attempt
from warroom.engine.timers import Timer, TimerKind
from warroom.engine.waits import release_locks, take_locks
from warroom.journal.events import DRILL, EventType
from warroom.journal.state import RunResult, StepStatus, WaitReason
from warroom.runbook.model import StepKind
from warroom.runbook.templates import CommandRenderError, render_command

MAX_UNTIL_POLLS = 720
"""A check polling `until` without a timeout gives up after this many polls."""
_REPORTS = {True: "", False: "drill: the step failed"}
_SIMULATED = frozenset({StepKind.RUN, StepKind.CHECK, StepKind.WAIT})
"""Kinds whose attempt a drill simulates on its clock: one running at a crash just goes on."""


def started(ld: Ledger) -> None:
    """A new incident: every step is to be decided."""
    ld.open.update(ld.runbook.step_ids)
    ld.dirty.update(ld.runbook.step_ids)
    _arm_run_timers(ld)


def resumed(ld: Ledger, note: dict[str, Any]) -> None:
    """Settles what a crash or a stop left open, from the folded journal alone: steps that
    were running are in doubt (re-run when safe; a drill's simulated attempt just goes on),
    held locks are released, waits on people and retries are armed again, an undo cut
    short is reported, a rollback cut short carries on."""
    st = ld.state
    for sid, s in st.steps.items():
        ld.track(sid)
        if s.status is StepStatus.FAILED and not _retry_cut_short(ld, sid):
            ld.failures.add(sid)
    ld.emit(ld.event(EventType.RUN_RESUMED, actor=ld.options.actor, **note))
    going_on = {sid for sid, s in st.steps.items() if ld.options.drill and s.status is StepStatus.RUNNING
                and ld.steps[sid].kind in _SIMULATED}
    alive: dict[str, list[int]] = note.get("still_running", {})
    for name, holders in list(st.locks.items()):
        for holder in list(holders):
            if holder not in going_on and holder not in alive:  # a live process keeps its locks
                ld.emit(ld.event(EventType.LOCK_RELEASED, holder, locks=[name], reason="resume"))
    for sid, s in st.steps.items():
        step = ld.steps[sid]
        if s.undoing and sid in alive:
            ld.emit(ld.event(EventType.UNDO_FAILED, sid, reason=f"interrupted during undo: its process still runs "
                             f"(pid {' '.join(map(str, alive[sid]))}); let it end, then run it again or mark it done"))
        elif s.undoing:
            if ld.options.drill or step.idempotent:
                ld.emit(ld.event(EventType.OPERATOR_OVERRIDE, sid, action="undo",
                                 reason="drill" if ld.options.drill else "idempotent: its undo is safe to run again"))
            else:
                ld.emit(ld.event(EventType.UNDO_FAILED, sid, reason="interrupted during undo: in doubt"))
        elif sid in going_on:
            token = ld.next_token(sid)
            since = s.started_at if s.started_at is not None else ld.clock.now()
            if step.kind is StepKind.WAIT:
                ld.arm_at(since + (step.wait_s or 0.0), Timer(TimerKind.WAIT, sid, token))
            else:
                launch(ld, step, token, None, since=since)
        elif s.status in (StepStatus.RUNNING, StepStatus.IN_DOUBT) and sid in alive:
            _still_running(ld, sid, alive[sid])
        elif s.status in (StepStatus.RUNNING, StepStatus.IN_DOUBT):
            doubt = [ld.event(EventType.STEP_IN_DOUBT, sid, attempt=s.attempts)] if s.status is StepStatus.RUNNING else []
            rerun = ld.options.drill or step.rerunnable or step.kind in (StepKind.WAIT, StepKind.DECIDE)
            if rerun and st.rollback is None:  # in a rollback nothing starts again: wind_down settles it
                why = "drill" if ld.options.drill else "check" if step.kind is StepKind.CHECK else "idempotent" if step.idempotent else step.kind.value
                doubt.append(ld.event(EventType.OPERATOR_OVERRIDE, sid, action="rerun", reason=f"{why}: safe to re-run after resume"))
            if doubt:
                ld.emit(*doubt)
        elif _retry_cut_short(ld, sid):
            _schedule_retry(ld, sid)
        elif s.status is StepStatus.WAITING and s.waiting_on is not None:
            if s.waiting_on.on is WaitReason.RETRY:
                ld.arm(0.0, Timer(TimerKind.RETRY, sid, ld.next_token(sid)))
            elif s.waiting_on.on is WaitReason.PERSON:
                take_locks(ld, step)
                waited = ld.clock.now() - s.open_wait[1] if s.open_wait is not None else 0.0
                people.arm(ld, step, waited=max(0.0, waited))
    ld.dirty.update(ld.runbook.step_ids)
    if st.rollback is not None:
        policy.wind_down(ld, st.rollback)
    _arm_run_timers(ld)


def _still_running(ld: Ledger, sid: str, pids: list[int]) -> None:
    """The killed runner's process of this step lives on: never a second copy beside it. It
    is in doubt, keeps its locks, and the commander decides once it is over (or stopped)."""
    s = ld.state.steps[sid]
    listed = " ".join(str(p) for p in pids)
    events = [ld.event(EventType.STEP_IN_DOUBT, sid, attempt=s.attempts)] if s.status is StepStatus.RUNNING else []
    events.append(ld.event(EventType.ESCALATION_RAISED, sid, to=ld.commander(),
                           reason=f"{sid} is still running from before the resume (pid {listed}): let it end, "
                                  f"then mark it done or failed; or stop it (kill {listed}) and retry it"))
    ld.emit(*events)


def _retry_cut_short(ld: Ledger, sid: str) -> bool:
    """A failed attempt whose retry a crash kept from being journaled."""
    s = ld.state.steps[sid]
    return s.status is StepStatus.FAILED and s.may_retry and s.attempts <= ld.steps[sid].retries.count


def _schedule_retry(ld: Ledger, sid: str) -> None:
    attempt = ld.state.steps[sid].attempts
    delay = ld.steps[sid].retries.delay_before(attempt + 1)
    ld.emit(ld.event(EventType.STEP_RETRY_SCHEDULED, sid, attempt=attempt + 1, delay_s=delay))
    ld.arm(delay, Timer(TimerKind.RETRY, sid, ld.tokens.get(sid) or ld.next_token(sid)))


def _arm_run_timers(ld: Ledger) -> None:
    """The deadline, and a drill's injects not yet fired (a facilitator's own are extra)."""
    st = ld.state
    start = st.started_mono or 0.0
    if ld.runbook.deadline_s and not st.deadline_passed:
        ld.arm_at(start + ld.runbook.deadline_s, Timer(TimerKind.DEADLINE))
    if ld.options.drill:
        fired = sum(1 for inject in st.injects if inject["actor"] == DRILL)
        for inject in ld.options.injects[fired:]:
            ld.arm_at(start + inject.at_s, Timer(TimerKind.INJECT, payload=inject))


def command(ld: Ledger, cmd: OperatorCommand) -> None:
    """A person's command: checked (Refused says why), journaled, then its consequences."""
    st = ld.state
    check(st, cmd)
    target = st.steps.get(cmd.target)
    before = target.status if target is not None else None
    ld.emit(*events_for(st, cmd, ld.clock.wall(), ld.clock.now()))
    if cmd.action is Action.ABORT:
        policy.wind_down(ld, f"aborted by {cmd.actor}" + (f": {cmd.reason}" if cmd.reason else ""))
        return
    if cmd.action in (Action.CLAIM, Action.RELEASE):
        ld.dirty.update(ld.resource_waiters)
        return
    if cmd.action in (Action.NOTE, Action.UNDO) or target is None:
        return
    step = ld.steps[cmd.target]
    if before in (StepStatus.WAITING, StepStatus.RUNNING, StepStatus.IN_DOUBT):
        ld.next_token(step.id)
        release_locks(ld, step)  # an in-doubt step may hold them: its process outlived a runner
    ld.dirty.add(step.id)
    ld.dirty.update(ld.dependents[step.id])


def spawned(ld: Ledger, item: Spawned) -> None:
    """The attempt's process exists: who it is goes in the journal, so a resume after the
    runner died can find it (and the operator be told its pid)."""
    if ld.current(item.step, item.token) and ld.state.steps[item.step].status is StepStatus.RUNNING:
        ld.emit(ld.event(EventType.STEP_SPAWNED, item.step, attempt=ld.state.steps[item.step].attempts,
                         pid=item.pid, start=item.start))


def report(ld: Ledger, done: Done) -> None:
    """An attempt's result: success, a failure (retried while retries last), a stop."""
    sid = done.step
    s = ld.state.steps[sid]
    if not ld.current(sid, done.token) or s.status is not StepStatus.RUNNING:
        return
    step = ld.steps[sid]
    if step.kind is StepKind.CHECK and step.until is not None and done.stopped is None:
        own = {"outputs": done.outputs, "exit_code": done.exit_code, "status": "running"}
        verdict = evaluate(ld.state, ld.runbook, step.id, step.until, own)
        if verdict is True:
            done = Done(sid, done.token, True, done.exit_code, done.outputs)
        elif isinstance(verdict, str):
            done = Done(sid, done.token, False, done.exit_code, done.outputs, verdict)
        else:
            ld.polls[sid] = ld.polls.get(sid, 0) + 1
            if step.timeout_s is not None or ld.polls[sid] < MAX_UNTIL_POLLS:
                ld.arm(step.interval_s, Timer(TimerKind.POLL, sid, done.token))
                return
            done = Done(sid, done.token, False, done.exit_code, done.outputs, f"until never held after {ld.polls[sid]} polls")
    ld.next_token(sid)
    ld.stopping.pop(sid, None)
    release_locks(ld, step)
    attempt = s.attempts
    if done.ok:
        since = s.started_at if s.started_at is not None else ld.clock.now()
        ld.emit(ld.event(EventType.STEP_SUCCEEDED, sid, attempt=attempt, exit_code=done.exit_code,
                         duration_s=ld.clock.now() - since, outputs=done.outputs))
        redacted = {name: value for name, value in done.outputs.items() if s.outputs.get(name) != value}
        if redacted:
            ld.state.held_outputs[sid] = redacted  # later steps get the value; the journal keeps ***
        return
    if done.stopped is StopReason.CANCELLED:
        ld.emit(ld.event(EventType.STEP_CANCELLED, sid, reason=ld.state.rollback or "cancelled"))
        return
    if done.stopped is StopReason.TIMEOUT:
        ld.emit(ld.event(EventType.STEP_TIMED_OUT, sid, attempt=attempt, timeout_s=step.timeout_s))
    else:
        ld.emit(ld.event(EventType.STEP_FAILED, sid, attempt=attempt, exit_code=done.exit_code, reason=done.reason))
    if attempt <= step.retries.count:
        _schedule_retry(ld, sid)


def exited(ld: Ledger, ex: Exited) -> None:
    """A step's process ended: its outputs are captured from stdout, then it is reported."""
    outputs = capture_outputs(ld.steps[ex.step].outputs, ex.stdout)
    reason = ex.stopped.value if ex.stopped is not None else f"exit code {ex.exit_code}"
    report(ld, Done(ex.step, ex.token, ex.exit_code == 0 and ex.stopped is None, ex.exit_code, outputs, reason, ex.stopped))


def undo_report(ld: Ledger, done: UndoDone) -> None:
    policy.undo_done(ld, done)


def timer(ld: Ledger, t: Timer) -> None:
    kind, sid = t.kind, t.step
    if kind is TimerKind.DEADLINE:
        ld.emit(
            ld.event(EventType.RUN_DEADLINE_PASSED, deadline_s=ld.runbook.deadline_s),
            ld.event(EventType.ESCALATION_RAISED, to=people.escalation_target(ld, people.waiting_gates(ld)),
                     reason="the run's deadline has passed"),
        )
    elif kind is TimerKind.INJECT:
        inject(ld, t.payload)
    elif kind is TimerKind.UNDO:
        undo_report(ld, UndoDone(sid or "", True))
    elif kind is TimerKind.RELEASE:
        if t.payload in ld.state.claims:
            ld.emit(ld.event(EventType.CLAIM_RELEASED, actor=DRILL, resource=t.payload, reason="inject's claim ended"))
            ld.dirty.update(ld.resource_waiters)
    elif sid is None or ld.stale(t):
        return
    elif kind is TimerKind.DONE:
        result: DrillOutcome = t.payload
        report(ld, Done(sid, t.token, result.succeeded, 0 if result.succeeded else 1, result.outputs,
                        _REPORTS[result.succeeded]))
    elif kind is TimerKind.WAIT:
        report(ld, Done(sid, t.token, True))
    elif kind is TimerKind.RETRY:
        s = ld.state.steps[sid]
        if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on is WaitReason.RETRY:
            start_attempt(ld, ld.steps[sid])
    elif kind is TimerKind.POLL:
        step = ld.steps[sid]
        if ld.state.steps[sid].status is StepStatus.RUNNING and step.command is not None:
            try:
                command = render_command(step.command, resolver(ld.state, ld.runbook))
            except CommandRenderError as exc:
                report(ld, Done(sid, t.token, False, None, reason=f"cannot run the command: {exc}"))
                return
            launch(ld, step, t.token, command)
    elif kind is TimerKind.TIMEOUT:
        end_attempt(ld, sid, StopReason.TIMEOUT)
    elif kind is TimerKind.APPROVAL:
        people.timed_out(ld, ld.steps[sid])
    elif kind is TimerKind.AUTO:
        people.auto_answer(ld, ld.steps[sid])


def end_attempt(ld: Ledger, sid: str, why: StopReason) -> None:
    """Stops a running attempt; a drill's (no process) settles at once."""
    if ld.state.steps[sid].status is not StepStatus.RUNNING:
        return
    if ld.options.drill:
        report(ld, Done(sid, ld.tokens.get(sid, 0), False, None, reason=why.value, stopped=why))
    else:
        stop(ld, sid, why)


def inject(ld: Ledger, inj: Inject, actor: str = DRILL) -> None:
    """A drill inject, journaled first; a fail or slow for a step not running now is armed
    in the journal for its next attempt."""
    st = ld.state
    sid = inj.step
    running = sid is not None and st.steps[sid].status is StepStatus.RUNNING
    armed = inj.kind is InjectKind.SLOW or (inj.kind is InjectKind.FAIL and not running)
    data = inj.describe() | ({"armed": True} if armed and sid is not None else {})
    ld.emit(ld.event(EventType.DRILL_INJECT, sid, actor=actor, **data))
    if inj.kind is InjectKind.NOTE:
        ld.emit(ld.event(EventType.NOTE_ADDED, actor=actor, text=inj.text or ""))
    elif inj.kind is InjectKind.CLAIM:
        resource = inj.resource or ""
        if resource not in st.claims:
            ld.emit(ld.event(EventType.CLAIM_MADE, actor=inj.by or DRILL, resource=resource, by=inj.by, reason="drill inject"))
            if inj.for_s is not None:
                ld.arm(inj.for_s, Timer(TimerKind.RELEASE, payload=resource))
    elif inj.kind is InjectKind.FAIL and sid is not None and running:
        report(ld, Done(sid, ld.tokens.get(sid, 0), False, 1, reason="drill inject: the step failed"))


def reopens(ld: Ledger, cmd: OperatorCommand) -> bool:
    """Whether a command on an ended (failed) run gives it more to do."""
    return cmd.action in (Action.RETRY, Action.SKIP, Action.DONE, Action.UNDO) and ld.state.rollback is None


def waiting_for_people(ld: Ledger) -> bool:
    """People's steps wait and the run itself has nothing in flight."""
    return bool(ld.people_waits) and ld.undoing is None and not ld.state.undo_queue and ld.state.result is RunResult.RUNNING
