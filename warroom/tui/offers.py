"""Which operator commands apply now: the footer, the action menu and the palette all ask here.

An offer is made only when the engine's own `check` would accept it (with a placeholder
reason), so the console never shows a command the engine would refuse for its state.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.engine.commands import Action, OperatorCommand, Refused, answer_refusal, check, first_answerer
from warroom.journal.state import IncidentState

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
    """Who answers an approval at this console: its user when the engine lets them, else the
    first person it would let (another pair of eyes, or one of the named approvers), to be
    confirmed in the form; that person sits at the console and types their own name."""
    if state.runbook is None or step_id not in state.steps or answer_refusal(state, step_id, me) is None:
        return me
    return first_answerer(state, step_id) or me


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


def board_offers(state: IncidentState, actor: str) -> list[Offer]:
    """Release each claim; claim each runbook resource not claimed yet; note; abort."""
    offers = [Offer(Action.RELEASE, name) for name in sorted(state.claims)]
    if state.runbook is not None:
        offers += [Offer(Action.CLAIM, name) for name in state.runbook.resources
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

