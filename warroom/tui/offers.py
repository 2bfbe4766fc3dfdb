"""Which operator commands apply now: the footer, the action menu and the palette all ask here.

An offer is made only when the engine's own `check` would accept it (with a placeholder
reason), so the console never shows a command the engine would refuse for its state.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.engine.commands import Action, OperatorCommand, Refused, check, may_answer
from warroom.journal.state import IncidentState
from warroom.runbook.model import Runbook

LABELS: dict[Action, str] = {
    Action.APPROVE: "Approve", Action.REJECT: "Reject", Action.DONE: "Mark done",
    Action.FAIL: "Mark failed", Action.RETRY: "Retry", Action.SKIP: "Skip", Action.UNDO: "Undo",
    Action.CLAIM: "Claim", Action.RELEASE: "Release", Action.NOTE: "Add a note",
    Action.ABORT: "Abort the incident",
}
DESTRUCTIVE = {Action.REJECT, Action.FAIL, Action.UNDO, Action.ABORT}
"""Actions that confirm first (their button is red and says what it does)."""

STEP_ORDER = (Action.APPROVE, Action.REJECT, Action.DONE, Action.FAIL, Action.RETRY, Action.SKIP, Action.UNDO)


@dataclass(frozen=True)
class Offer:
    action: Action
    target: str

    @property
    def label(self) -> str:
        if self.action in (Action.NOTE, Action.ABORT):
            return LABELS[self.action]
        return f"{LABELS[self.action]} {self.target}"


def allowed(state: IncidentState, action: Action, target: str, actor: str) -> str | None:
    """None when the engine would accept the command now, else its reason for refusing."""
    try:
        check(state, OperatorCommand(action, target, actor, reason="-"))
    except Refused as exc:
        return str(exc)
    return None


def answerer(state: IncidentState, step_id: str, me: str) -> str:
    """Who answers an approval at this console: its user, or under four eyes (or a list of
    approvers without them) the first person who may, to be confirmed in the form; that
    person sits at the console and types their own name."""
    approval = state.approvals.get(step_id)
    four_eyes = approval is not None and approval.four_eyes
    people = may_answer(state, step_id) if state.runbook is not None and step_id in state.steps else ()
    if (not people or me in people) and not (four_eyes and me == state.starter):
        return me
    return next((p for p in people if not (four_eyes and p == state.starter)), me)


def step_offers(state: IncidentState, step: str | None, actor: str) -> list[Offer]:
    """The step's commands the engine would accept now; an approval is offered when the
    person who would answer it here (another pair of eyes, typed in the form) may."""
    if step is None or step not in state.steps:
        return []
    offers = []
    for a in STEP_ORDER:
        who = answerer(state, step, actor) if a in (Action.APPROVE, Action.REJECT) else actor
        if allowed(state, a, step, who) is None:
            offers.append(Offer(a, step))
    return offers


def resources(runbook: Runbook) -> list[str]:
    """The resources a runbook's steps lock: what can be claimed (or held by a drill inject)."""
    return list(runbook.resources)


def board_offers(state: IncidentState, actor: str) -> list[Offer]:
    """Release each claim; claim each runbook resource not claimed yet; note; abort."""
    offers = [Offer(Action.RELEASE, name) for name in sorted(state.claims)]
    if state.runbook is not None:
        offers += [Offer(Action.CLAIM, name) for name in resources(state.runbook)
                   if allowed(state, Action.CLAIM, name, actor) is None]
    offers.append(Offer(Action.NOTE, ""))
    if allowed(state, Action.ABORT, "", actor) is None:
        offers.append(Offer(Action.ABORT, ""))
    return offers


def all_offers(state: IncidentState, actor: str) -> list[Offer]:
    """Every command that applies now, for the palette: each step's, then the board's."""
    offers: list[Offer] = []
    for sid in state.steps:
        offers += step_offers(state, sid, actor)
    return offers + board_offers(state, actor)

