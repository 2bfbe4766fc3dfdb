"""The fold of what people cause: decisions, approvals, locks and claims, notes,
escalations, operator overrides and drill injects.

A mixin of the Reducer, kept apart from reducer.py (the run's and the steps' own events) so
each file holds one family of handlers; both share the step rules of step_fold.py.
"""

from __future__ import annotations

from typing import Any

from warroom.journal.state import (
    Approval, Claim, ClaimRecord, Decision, Escalation, IncidentState, Note, Override,
    StepStatus, WaitingOn, WaitReason,
)
from warroom.journal.step_fold import end_step, step_state, wait_on


class PeopleFold:
    """Handlers for the Reducer's table; each folds one event into `state`."""

    state: IncidentState

    def _decision_taken(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        self.state.decisions.append(Decision(
            step, data.get("branch"), data.get("when"), tuple(data.get("then") or ()),
            tuple(data.get("skipped") or ()), actor, ts,
        ))

    def _approval_requested(self, ts: float, mono: float, actor: str, step: str | None,
                            data: dict[str, Any]) -> None:
        approvers = tuple(data.get("approvers") or ())
        question = str(data.get("question", ""))
        self.state.approvals[step or ""] = Approval(
            step or "", question, approvers, bool(data.get("four_eyes", False)), ts,
        )
        s = step_state(self.state, step)
        s.status = StepStatus.WAITING
        s.waiting_on = WaitingOn(WaitReason.PERSON, question, approvers)
        wait_on(s, mono, "person")
        if s.waiting_since is None and s.first_started_at is None:
            s.waiting_since = mono

    def _decide(self, ts: float, actor: str, step: str | None, data: dict[str, Any],
                decision: str) -> Approval:
        approval = self.state.approvals.get(step or "")
        if approval is None:
            approval = self.state.approvals[step or ""] = Approval(step or "")
        approval.decision, approval.by = decision, actor
        approval.reason, approval.decided_at = str(data.get("reason", "")), ts
        return approval

    def _approval_granted(self, ts: float, mono: float, actor: str, step: str | None,
                          data: dict[str, Any]) -> None:
        self._decide(ts, actor, step, data, "granted")
        s = step_state(self.state, step)
        s.status = StepStatus.SUCCEEDED
        end_step(s, mono, since=s.waiting_since)

    def _approval_rejected(self, ts: float, mono: float, actor: str, step: str | None,
                           data: dict[str, Any]) -> None:
        approval = self._decide(ts, actor, step, data, "rejected")
        s = step_state(self.state, step)
        s.status = StepStatus.FAILED
        s.last_reason = f"rejected by {actor}" + (f": {approval.reason}" if approval.reason else "")
        end_step(s, mono, since=s.waiting_since)

    def _lock_acquired(self, ts: float, mono: float, actor: str, step: str | None,
                       data: dict[str, Any]) -> None:
        for name in data.get("locks") or ():
            self.state.locks.setdefault(_lock_name(name), []).append(step or actor)

    def _lock_released(self, ts: float, mono: float, actor: str, step: str | None,
                       data: dict[str, Any]) -> None:
        locks = self.state.locks
        for name in data.get("locks") or ():
            key = _lock_name(name)
            holders = locks.get(key, [])
            if (step or actor) in holders:
                holders.remove(step or actor)
            if not holders:
                locks.pop(key, None)

    def _claim_made(self, ts: float, mono: float, actor: str, step: str | None,
                    data: dict[str, Any]) -> None:
        resource = str(data.get("resource", ""))
        by, reason = str(data.get("by") or actor), str(data.get("reason", ""))
        self.state.claims[resource] = Claim(resource, by, reason, ts)
        self.state.claim_history.append(ClaimRecord(resource, "made", by, reason, ts))

    def _claim_released(self, ts: float, mono: float, actor: str, step: str | None,
                        data: dict[str, Any]) -> None:
        resource = str(data.get("resource", ""))
        self.state.claims.pop(resource, None)
        self.state.claim_history.append(
            ClaimRecord(resource, "released", actor, str(data.get("reason", "")), ts)
        )

    def _note_added(self, ts: float, mono: float, actor: str, step: str | None,
                    data: dict[str, Any]) -> None:
        self.state.notes.append(Note(actor, str(data.get("text", "")), ts, step))

    def _escalation_raised(self, ts: float, mono: float, actor: str, step: str | None,
                           data: dict[str, Any]) -> None:
        self.state.escalations.append(
            Escalation(str(data.get("to", "")), str(data.get("reason", "")), actor, ts, step)
        )

    def _operator_override(self, ts: float, mono: float, actor: str, step: str | None,
                           data: dict[str, Any]) -> None:
        action, reason = str(data.get("action", "")), str(data.get("reason", ""))
        self.state.overrides.append(Override(action, step, reason, actor, ts))
        if step is None:
            return
        if action == "undo":
            queue = self.state.undo_queue
            if s_undoing := step_state(self.state, step).undoing:  # an undo cut short goes again first
                step_state(self.state, step).undoing = False
            if step not in queue:
                queue.insert(0, step) if s_undoing else queue.append(step)
            return
        s = step_state(self.state, step)
        s.may_retry = False
        s.last_reason = f"{action} by {actor}" + (f": {reason}" if reason else "")
        if action == "skip":
            s.status = StepStatus.SKIPPED
            end_step(s, mono)
        elif action == "done":
            s.status = StepStatus.UNDONE if s.status is StepStatus.UNDO_FAILED else StepStatus.SUCCEEDED
            end_step(s, mono, since=s.waiting_since)
        elif action == "fail":
            s.status = StepStatus.FAILED
            end_step(s, mono, since=s.waiting_since)
        elif action in ("retry", "rerun"):
            s.status = StepStatus.PENDING
            s.waiting_on = None
            s.same_attempt = action == "rerun"

    def _drill_inject(self, ts: float, mono: float, actor: str, step: str | None,
                      data: dict[str, Any]) -> None:
        self.state.injects.append({"ts": ts, "actor": actor, "step": step, **data})
        if step is not None and data.get("armed"):
            s = step_state(self.state, step)
            if data.get("kind") == "fail":
                s.armed_fails += 1
            elif data.get("kind") == "slow":
                s.armed_slow += float(data.get("slow_s", 0.0))




def _lock_name(name: str) -> str:
    return name[: -len(":shared")] if name.endswith(":shared") else name
