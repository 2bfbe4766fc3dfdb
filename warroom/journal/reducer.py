"""The one fold from events to incident state.

The live engine applies each event as it journals it; resume, replay, report and export fold
the stored rows with the same handlers, so there is no second way to compute state. Handlers
are looked up in a dict by type, and rows whose handler ignores `data` (output lines, the bulk
of a long incident) are never JSON-decoded. The handlers of what people cause (approvals,
claims, overrides, injects) are in people_fold.py, the step rules both use in step_fold.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from warroom.journal.errors import JournalError
from warroom.journal.events import Event, EventType
from warroom.journal.people_fold import PeopleFold
from warroom.journal.state import IncidentState, RunResult, StepState, StepStatus, WaitingOn, WaitReason
from warroom.journal.step_fold import close_run, end_step, step_state, wait_on
from warroom.runbook.durations import format_duration
from warroom.runbook.model import Runbook

Handler = Callable[[float, float, str, "str | None", Any], None]


class Reducer(PeopleFold):
    """Folds events one at a time into `state`; feed it in seq order."""

    def __init__(self) -> None:
        self.state = IncidentState()
        e = EventType
        table: dict[EventType, tuple[Handler, bool]] = {
            e.RUN_STARTED: (self._run_started, True),
            e.RUN_FINISHED: (self._run_finished, True),
            e.RUN_INTERRUPTED: (self._run_interrupted, False),
            e.RUN_RESUMED: (self._run_resumed, False),
            e.RUN_DEADLINE_PASSED: (self._deadline_passed, False),
            e.RUN_ABORTED: (self._run_aborted, False),
            e.PHASE_STARTED: (self._phase_started, True),
            e.PHASE_FINISHED: (self._phase_finished, True),
            e.STEP_WAITING: (self._step_waiting, True),
            e.STEP_STARTED: (self._step_started, True),
            e.STEP_SPAWNED: (self._step_spawned, True),
            e.STEP_OUTPUT: (self._step_output, False),
            e.STEP_SUCCEEDED: (self._step_succeeded, True),
            e.STEP_FAILED: (self._step_failed, True),
            e.STEP_TIMED_OUT: (self._step_timed_out, True),
            e.STEP_RETRY_SCHEDULED: (self._retry_scheduled, True),
            e.STEP_SKIPPED: (self._step_skipped, True),
            e.STEP_BLOCKED: (self._step_blocked, True),
            e.STEP_CANCELLED: (self._step_cancelled, True),
            e.STEP_IN_DOUBT: (self._step_in_doubt, True),
            e.ROLLBACK_STARTED: (self._rollback_started, True),
            e.UNDO_STARTED: (self._undo_started, False),
            e.UNDO_SUCCEEDED: (self._undo_succeeded, False),
            e.UNDO_FAILED: (self._undo_failed, True),
            e.DECISION_TAKEN: (self._decision_taken, True),
            e.APPROVAL_REQUESTED: (self._approval_requested, True),
            e.APPROVAL_GRANTED: (self._approval_granted, True),
            e.APPROVAL_REJECTED: (self._approval_rejected, True),
            e.LOCK_ACQUIRED: (self._lock_acquired, True),
            e.LOCK_RELEASED: (self._lock_released, True),
            e.CLAIM_MADE: (self._claim_made, True),
            e.CLAIM_RELEASED: (self._claim_released, True),
            e.NOTE_ADDED: (self._note_added, True),
            e.ESCALATION_RAISED: (self._escalation_raised, True),
            e.OPERATOR_OVERRIDE: (self._operator_override, True),
            e.DRILL_INJECT: (self._drill_inject, True),
        }
        self._handlers: dict[str, tuple[Handler, bool]] = {t.value: h for t, h in table.items()}

    def apply(self, event: Event) -> IncidentState:
        """Folds one event (as the writer returned it, or as read back)."""
        type_ = event.type.value if isinstance(event.type, EventType) else event.type
        entry = self._handlers.get(type_)
        if entry is not None:
            entry[0](event.ts, event.mono, event.actor, event.step, event.data)
        self._advance(event.seq, event.incident, event.ts, event.mono, event.hash, 1)
        return self.state

    def apply_rows(self, rows: Iterable[tuple[Any, ...]]) -> IncidentState:
        """Folds stored rows (seq, incident, ts, mono, actor, type, step, data text, prev, hash)."""
        handlers = self._handlers
        loads = json.loads
        count = 0
        last = None
        for row in rows:
            count += 1
            last = row
            entry = handlers.get(row[5])
            if entry is not None:
                fn, wants_data = entry
                if wants_data:
                    try:
                        data = loads(row[7])
                    except (TypeError, ValueError):
                        raise JournalError(
                            f"row seq {row[0]} is damaged (data is not JSON); run warroom verify"
                        ) from None
                    fn(row[2], row[3], row[4], row[6], data)
                else:
                    fn(row[2], row[3], row[4], row[6], None)
        if last is not None:
            self._advance(last[0], last[1], last[2], last[3], last[9], count)
        return self.state

    def _advance(self, seq: int, incident: str, ts: float, mono: float, digest: str,
                 count: int) -> None:
        st = self.state
        st.incident = st.incident or incident
        st.last_seq, st.last_ts, st.last_mono, st.head_hash = seq, ts, mono, digest
        st.events += count

    # run ------------------------------------------------------------------------------
    def _run_started(self, ts: float, mono: float, actor: str, step: str | None,
                     data: dict[str, Any]) -> None:
        st = self.state
        try:
            st.runbook = Runbook.from_dict(data["runbook"])
        except (KeyError, TypeError, ValueError):
            raise JournalError("run.started does not hold a readable runbook") from None
        st.runbook_sha256 = data.get("runbook_sha256", "")
        st.source = data.get("source", "")
        st.starter = data.get("starter") or actor
        st.drill = bool(data.get("drill", False))
        st.auto = bool(data.get("auto", False))
        st.seed = data.get("seed")
        speed = data.get("speed", 1.0)
        st.speed = None if speed == "max" or not st.drill else float(speed)
        st.planned_injects = list(data.get("injects", []))
        st.vars = dict(data.get("vars") or {})
        st.started_ts, st.started_mono = ts, mono
        st.result = RunResult.RUNNING
        st.steps = {sid: StepState(sid) for sid in st.runbook.step_ids}

    def _finish(self, ts: float, mono: float, result: RunResult) -> None:
        st = self.state
        st.result = result
        st.ended_ts, st.ended_mono = ts, mono
        for s in st.steps.values():
            close_run(s, mono)

    def _run_finished(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        try:
            result = RunResult(data.get("result", "succeeded"))
        except ValueError:
            raise JournalError(f"run.finished has an unknown result {data.get('result')!r}") from None
        self._finish(ts, mono, result)

    def _run_aborted(self, ts: float, mono: float, actor: str, step: str | None, data: Any) -> None:
        self._finish(ts, mono, RunResult.ABORTED)

    def _run_interrupted(self, ts: float, mono: float, actor: str, step: str | None,
                         data: Any) -> None:
        """Steps that were running when the run was interrupted are in doubt: their processes
        were stopped part way, so what they did is unknown until someone decides."""
        for s in self.state.steps.values():
            if s.status is StepStatus.RUNNING:
                s.status = StepStatus.IN_DOUBT
        self._finish(ts, mono, RunResult.INTERRUPTED)

    def _run_resumed(self, ts: float, mono: float, actor: str, step: str | None, data: Any) -> None:
        st = self.state
        st.result = RunResult.RUNNING
        st.ended_ts = st.ended_mono = None
        st.resumes += 1

    def _deadline_passed(self, ts: float, mono: float, actor: str, step: str | None,
                         data: Any) -> None:
        self.state.deadline_passed = True

    def _phase_started(self, ts: float, mono: float, actor: str, step: str | None,
                       data: dict[str, Any]) -> None:
        self.state.phases[str(data.get("phase", step))] = "running"

    def _phase_finished(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        self.state.phases[str(data.get("phase", step))] = str(data.get("result", "finished"))

    # steps ----------------------------------------------------------------------------
    def _step_waiting(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.WAITING
        s.waiting_on = WaitingOn(_wait_reason(data.get("on")), str(data.get("detail", "")),
                                 tuple(data.get("holders") or ()))
        wait_on(s, mono, s.waiting_on.on)
        if not s.wait_log or s.wait_log[-1] != s.waiting_on:
            s.wait_log.append(s.waiting_on)
        if s.waiting_since is None and s.first_started_at is None:
            s.waiting_since = mono

    def _step_started(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        wait_on(s, mono, None)
        s.status = StepStatus.RUNNING
        s.attempts = max(s.attempts, int(data.get("attempt", s.attempts + 1)))
        s.started_at, s.ended_at = mono, None
        s.pid = s.pid_start = None
        if s.first_started_at is None:
            s.first_started_at = mono
            if s.waiting_since is not None:
                s.wait_s = mono - s.waiting_since
        s.waiting_on = None
        s.command = data.get("command", s.command)
        s.runs.append((mono, None))
        s.drill_fail, s.drill_slow = bool(data.get("drill_fail", False)), float(data.get("slow_s", 0.0))
        if s.drill_fail and s.armed_fails:
            s.armed_fails -= 1  # this attempt took one armed fail; more wait for the next
        s.armed_slow, s.same_attempt = 0.0, False

    def _step_spawned(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.pid, s.pid_start = int(data["pid"]), data.get("start")

    def _step_output(self, ts: float, mono: float, actor: str, step: str | None, data: Any) -> None:
        s = self.state.steps.get(step or "")
        if s is None:
            s = step_state(self.state, step)
        s.output_lines += 1

    def _step_succeeded(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.SUCCEEDED
        s.attempts = max(s.attempts, int(data.get("attempt", s.attempts)))
        s.exit_code = data.get("exit_code", s.exit_code)
        s.outputs = dict(data.get("outputs") or {})
        end_step(s, mono)

    def _step_failed(self, ts: float, mono: float, actor: str, step: str | None,
                     data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.FAILED
        s.attempts = max(s.attempts, int(data.get("attempt", s.attempts)))
        s.exit_code = data.get("exit_code", s.exit_code)
        s.last_reason = str(data.get("reason", ""))
        s.may_retry = True
        end_step(s, mono)

    def _step_timed_out(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.FAILED
        s.attempts = max(s.attempts, int(data.get("attempt", s.attempts)))
        timeout = data.get("timeout_s")
        s.last_reason = f"timed out after {format_duration(timeout)}" if timeout else "timed out"
        s.may_retry = True
        end_step(s, mono)

    def _retry_scheduled(self, ts: float, mono: float, actor: str, step: str | None,
                         data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.WAITING
        s.may_retry = False
        close_run(s, mono)
        wait_on(s, mono, "retry")
        delay = data.get("delay_s", 0)
        s.waiting_on = WaitingOn(WaitReason.RETRY, f"attempt {data.get('attempt', s.attempts + 1)} "
                                          f"in {format_duration(delay)}")

    def _step_skipped(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.SKIPPED
        s.last_reason = str(data.get("reason", ""))
        s.passed_over = True
        end_step(s, mono)

    def _step_blocked(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.BLOCKED
        wait_on(s, mono, None)
        s.last_reason = f"need {data['by']} failed" if data.get("by") else "a need failed"
        s.waiting_on = None

    def _step_cancelled(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.CANCELLED
        s.last_reason = str(data.get("reason", ""))
        end_step(s, mono)

    def _step_in_doubt(self, ts: float, mono: float, actor: str, step: str | None,
                       data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status = StepStatus.IN_DOUBT
        s.attempts = max(s.attempts, int(data.get("attempt", s.attempts)))
        close_run(s, mono)

    def _rollback_started(self, ts: float, mono: float, actor: str, step: str | None,
                          data: dict[str, Any]) -> None:
        st = self.state
        st.rollback = str(data.get("reason", "rollback"))
        st.undo_queue.extend(sid for sid in data.get("undo") or () if sid not in st.undo_queue)

    def _undo_started(self, ts: float, mono: float, actor: str, step: str | None, data: Any) -> None:
        step_state(self.state, step).undoing = True
        if step in self.state.undo_queue:
            self.state.undo_queue.remove(step)

    def _undo_succeeded(self, ts: float, mono: float, actor: str, step: str | None,
                        data: Any) -> None:
        s = step_state(self.state, step)
        s.status, s.undoing = StepStatus.UNDONE, False

    def _undo_failed(self, ts: float, mono: float, actor: str, step: str | None,
                     data: dict[str, Any]) -> None:
        s = step_state(self.state, step)
        s.status, s.undoing = StepStatus.UNDO_FAILED, False
        s.last_reason = str(data.get("reason", "undo failed"))


def _wait_reason(on: Any) -> WaitReason:
    try:
        return WaitReason(on or "needs")
    except ValueError:
        raise JournalError(f"step.waiting has an unknown reason {on!r}") from None


def reduce(events: Iterable[Event]) -> IncidentState:
    """The state after `events`, folded in order."""
    reducer = Reducer()
    for event in events:
        reducer.apply(event)
    return reducer.state
