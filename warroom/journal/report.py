"""The after-action figures: what took the time, what waited, and what parallelism would save.

Computed only from the folded state, so a report of a live incident and of one replayed a
year later agree; the counterfactual reuses the planner's scheduler with actual durations.
"""

from __future__ import annotations

import copy
from typing import Any

from warroom.journal.analysis import relaxed, render_review, review
from warroom.journal.errors import JournalError
from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.runbook.durations import format_duration
from warroom.runbook.plan import critical_path, schedule

_OPEN = frozenset({RunResult.RUNNING, RunResult.WAITING, RunResult.INTERRUPTED})
"""No `run.finished` yet: the incident goes on, whether or not a process is running it."""
_DID_NOT_RUN = (StepStatus.PENDING, StepStatus.SKIPPED, StepStatus.BLOCKED)


def _ran(state: IncidentState) -> dict[str, float]:
    """Actual durations of the steps that ran (started, or answered by a person)."""
    return {
        sid: s.duration_s for sid, s in state.steps.items()
        if s.duration_s is not None and s.status not in _DID_NOT_RUN
        and state.runbook is not None and sid in state.runbook.step_ids
    }


def idle_seconds(state: IncidentState) -> float:
    """Time within the incident when no step was running (people thinking, waiting, gaps)."""
    start, total = state.started_mono, state.duration_s
    if start is None or total is None:
        return 0.0
    end = start + total
    intervals = sorted(
        (max(a, start), min(b if b is not None else end, end))
        for s in state.steps.values() for a, b in s.runs
    )
    covered, reach = 0.0, start
    for a, b in intervals:
        if b <= reach:
            continue
        covered += b - max(a, reach)
        reach = b
    return max(0.0, total - covered)


def so_far(state: IncidentState, now_ts: float) -> IncidentState:
    """A real run that has not ended, as of `now_ts` (wall clock): the incident goes on
    between events, so its time, what runs and what waits count up to now, not to the latest
    event. A drill's clock is its own (scaled), so a drill is reported to its latest event."""
    if state.result not in _OPEN or state.drill or state.last_ts is None or state.last_mono is None:
        return state
    extra = max(0.0, now_ts - state.last_ts)
    live = copy.deepcopy(state)
    end = state.last_mono + extra
    live.last_ts, live.last_mono = now_ts, end
    live.ended_ts = live.ended_mono = None  # a stop (for people, a signal) is not the incident's end
    for s in live.steps.values():
        if s.status is StepStatus.RUNNING and s.first_started_at is not None:
            s.duration_s = end - s.first_started_at
        elif s.first_started_at is None and s.waiting_since is not None:
            s.wait_s = end - s.waiting_since
    return live


def report(state: IncidentState) -> dict[str, Any]:
    """The report fields DESIGN.md lists (`report --json`), plus a few for the human form."""
    if state.runbook is None:
        raise JournalError(f"incident {state.incident!r} has no run.started event")
    durations = _ran(state)
    ran = set(durations)
    full = {sid: durations.get(sid, 0.0) for sid in state.runbook.step_ids}
    parallel = schedule(relaxed(state.runbook), full, include=ran).makespan_s if ran else 0.0
    path = critical_path(state.runbook, full, include=ran) if ran else []
    linear = sum(durations.values())
    return {
        "incident": state.incident,
        "runbook": state.runbook.id,
        "result": state.result.value,
        "drill": state.drill,
        "started_ts": state.started_ts,
        "mttr_s": state.duration_s,
        "ended": state.result not in _OPEN,
        "steps": [
            {
                "id": s.id,
                "status": s.status.value,
                "duration_s": s.duration_s,
                "wait_s": s.wait_s,
                "attempts": s.attempts,
            }
            for s in state.steps.values()
        ],
        "critical_path": path,
        "critical_path_s": sum(durations[sid] for sid in path),
        "idle_s": idle_seconds(state),
        "linear_s": linear,
        "parallel_s": parallel,
        "approvals": len(state.approvals),
        "escalations": len(state.escalations),
        "overrides": len(state.overrides),
        "head_hash": state.head_hash,
        "review": review(state),
    }


def render_report(data: dict[str, Any]) -> str:
    """The report for a person at a terminal."""
    mttr = data["mttr_s"]
    lines = [
        f"incident   {data['incident']}  ({data['runbook']}{', drill' if data['drill'] else ''})",
        f"result     {data['result']}",
        f"MTTR       {format_duration(mttr)}{'' if data['ended'] else '  (so far: the run has not ended)'}",
        f"idle       {format_duration(data['idle_s'])}  (no step running)",
        f"critical   {' -> '.join(data['critical_path']) or '-'}  "
        f"({format_duration(data['critical_path_s'])})",
        f"parallel   {format_duration(data['parallel_s'])}  (the same steps, as parallel as "
        f"the graph allows, people's steps and approvals kept where they are; one after another: "
        f"{format_duration(data['linear_s'])})",
    ]
    if mttr and data["parallel_s"] < mttr:
        lines.append(f"           would have saved {format_duration(mttr - data['parallel_s'])}")
    width = max((len(s["id"]) for s in data["steps"]), default=4)
    lines += ["", f"{'step':<{width}}  {'status':<11}  {'took':>7}  {'waited':>7}  attempts"]
    for s in data["steps"]:
        lines.append(
            f"{s['id']:<{width}}  {s['status']:<11}  {format_duration(s['duration_s']):>7}  "
            f"{format_duration(s['wait_s']):>7}  {s['attempts']}"
        )
    return "\n".join(lines) + "\n" + render_review(data["review"])
