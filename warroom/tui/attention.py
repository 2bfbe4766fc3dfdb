"""What waits for a person: the header counts it, `w` walks to it, the palette offers it.

A commander under pressure should not hunt the graph for the approval at row 10: every step
that cannot go on without someone (an approval or a manual or escalation step waiting on a
person, a step in doubt after a crash) is listed here in the graph's order, and those the
console's user may act on themselves are told apart when the runbook names roles.
"""

from __future__ import annotations

from collections.abc import Sequence

from warroom.engine.commands import Action, awaits_person
from warroom.journal.state import IncidentState
from warroom.tui.offers import allowed, answerer

FIRST_ACTIONS = (Action.APPROVE, Action.DONE, Action.RETRY)
"""What moves a waiting step on: one of these applying means the step is the user's to act on."""


def waiting_for_people(state: IncidentState, order: Sequence[str]) -> list[str]:
    """The steps in `order` (the graph's rows) that wait for a person."""
    return [sid for sid in order if awaits_person(state, sid)]


def yours(state: IncidentState, step_id: str, actor: str) -> bool:
    """Whether `actor` may move this waiting step on themselves (approving as themselves,
    not as the other pair of eyes the form asks for)."""
    for action in FIRST_ACTIONS:
        who = answerer(state, step_id, actor) if action is Action.APPROVE else actor
        if who == actor and allowed(state, action, step_id, actor) is None:
            return True
    return False


def next_waiting(waiting: Sequence[str], order: Sequence[str], current: str | None) -> str | None:
    """The first waiting step after `current` in `order`, wrapping round; None if none waits."""
    if not waiting:
        return None
    at = order.index(current) if current in order else -1
    rank = {sid: i for i, sid in enumerate(order)}
    later = [sid for sid in waiting if rank[sid] > at]
    return later[0] if later else waiting[0]
