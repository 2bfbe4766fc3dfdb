"""The dependency graph as git-log style lanes: one row per step, in topological order.

Computed once per runbook (the shape never changes during a run); the graph widget only
colours the nodes. Each lane carries a step's edge down the screen until its last dependent
has been drawn, so a reader follows "what does this wait for" by eye.
"""

from __future__ import annotations

from dataclasses import dataclass

from warroom.runbook.graph import topological_order
from warroom.runbook.model import Runbook


@dataclass(frozen=True)
class LaneRow:
    step: str
    prefix: str  # two cells per lane; the node's cell holds NODE_MARK
    node: int  # index of the node character in prefix


NODE_MARK = "●"


def lane_rows(runbook: Runbook) -> list[LaneRow]:
    order = topological_order(runbook)
    dependents: dict[str, set[str]] = {sid: set() for sid in order}
    for sid in order:
        for need in runbook.needs_of(sid):
            dependents[need].add(sid)
    remaining = {sid: set(deps) for sid, deps in dependents.items()}
    active: list[str | None] = []
    rows: list[LaneRow] = []
    for sid in order:
        needs = set(runbook.needs_of(sid))
        need_lanes = [i for i, src in enumerate(active) if src in needs]
        for need in needs:
            remaining[need].discard(sid)
        ending = {i for i in need_lanes if not remaining[active[i] or ""]}
        if ending:
            col = min(ending)
        elif None in active:
            col = active.index(None)
        else:
            col = len(active)
            active.append(None)
        touched = need_lanes + [col]
        low, high = min(touched), max(touched)
        cells: list[str] = []
        for i, src in enumerate(active):
            if i == col:
                char = NODE_MARK
            elif i in need_lanes:
                char = _merge_char(i, col, low, high, i in ending)
            elif src is not None:
                char = "┼" if low < i < high else "│"
            else:
                char = "─" if low < i < high else " "
            joint = "─" if low <= i < high else " "
            cells.append(char + joint)
        rows.append(LaneRow(sid, "".join(cells).rstrip(), 2 * col))
        for i in ending:
            active[i] = None
        active[col] = sid if remaining[sid] else None
        while active and active[-1] is None:
            active.pop()
    return rows


def _merge_char(lane: int, col: int, low: int, high: int, ends: bool) -> str:
    """The corner where a need's lane joins the row's node: the far end turns, inner ones tee."""
    if lane in (low, high):
        if lane > col:
            return "┘" if ends else "┤"
        return "└" if ends else "├"
    return "┴" if ends else "┼"
