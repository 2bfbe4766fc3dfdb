"""What the lock and claim board and the thread panels show, as rows of plain Text.

Pure functions of the state, so the widgets only diff them in; all text from people or
processes (claim reasons, instructions) passes through `visible` and is never markup.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from warroom.journal.state import IncidentState, StepState, StepStatus
from warroom.runbook.model import Runbook
from warroom.tui.diff_table import Col, Row
from warroom.tui.glyphs import charset, clock
from warroom.journal.text import visible

WAITS_ON_WIDTH = 60
"""Characters of "waits on" in a thread panel (manual instructions can be paragraphs)."""
TIME_WIDTH = 7
"""H:MM:SS: an incident can run for hours."""
NAME_WIDTH_MAX = 28
"""The widest a column of ids (resources, steps) grows, whatever the runbook names."""


def _widest(names: Iterable[str], floor: int) -> int:
    return min(NAME_WIDTH_MAX, max([floor, *(len(n) for n in names)]))


def board_columns(runbook: Runbook) -> tuple[Col, ...]:
    """resource, holder, since, why, waiters: sized for this runbook's locks and steps; a
    narrow pane drops waiters (the thread panels say what each step waits on), then why."""
    resources = runbook.resources
    steps = _widest(runbook.step_ids, 8)
    return (Col("resource", _widest(resources, 8)), Col("holder", steps, flex=True, least=min(steps, 12)),
            Col("since", TIME_WIDTH), Col("why", 24, flex=True, least=10, drop=1),
            Col("waiters", steps, flex=True, least=8, drop=2))


def thread_columns(runbook: Runbook, thread: str | None) -> tuple[Col, ...]:
    """step, state, time, #, waits on: sized for the thread's step ids; a narrow pane drops
    the attempts, then "waits on" (the state of a waiting step names what it waits for, and
    the step's detail says the rest); otherwise "waits on" takes whatever room is left."""
    ids = [s.id for s in runbook.steps if s.thread == thread]
    step = _widest(ids, 6)
    return (Col("step", step, flex=True, least=min(step, 12)), Col("state", 11), Col("time", TIME_WIDTH),
            Col("#", 2, drop=2), Col("waits on", WAITS_ON_WIDTH, flex=True, least=12, drop=1))


def _t(value: object, style: str = "") -> Text:
    return Text(visible(str(value)), style=style, no_wrap=True)


def _since_wall(state: IncidentState, wall: float | None) -> str:
    if wall is None or state.started_ts is None:
        return ""
    return clock(wall - state.started_ts)


def board_rows(state: IncidentState) -> dict[str, Row]:
    """One row per held lock and per claim; waiters are the steps waiting on that resource."""
    runbook = state.runbook
    waiters: dict[str, list[str]] = {}
    if runbook is not None:
        for s in state.steps.values():
            if s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on in ("lock", "claim"):
                for lock in runbook.step(s.id).locks:
                    if lock.name in state.locks or lock.name in state.claims:
                        waiters.setdefault(lock.name, []).append(s.id)
    rows: dict[str, Row] = {}
    for name, claim in sorted(state.claims.items()):
        rows[f"claim:{name}"] = (
            _t(name, "bold"), _t(f"{charset().claimed} {claim.by}", "yellow"), _t(_since_wall(state, claim.since)),
            _t(claim.reason or "claimed"), _t(", ".join(waiters.get(name, [])), "yellow"),
        )
    for name, holders in sorted(state.locks.items()):
        if not holders:
            continue
        first = state.steps.get(holders[0])
        since = first.started_at if first is not None else None
        since_text = clock(since - (state.started_mono or 0.0)) if since is not None else ""
        rows[f"lock:{name}"] = (
            _t(name, "bold"), _t(", ".join(holders), "cyan"), _t(since_text),
            _t("lock (shared)" if len(holders) > 1 else "lock"), _t(", ".join(waiters.get(name, [])), "yellow"),
        )
    return rows


def waits_on(s: StepState) -> str:
    if s.status is StepStatus.IN_DOUBT:
        return "a decision: retry, done or skip"
    if s.status is not StepStatus.WAITING or s.waiting_on is None:
        return s.last_reason if s.status in (StepStatus.FAILED, StepStatus.BLOCKED, StepStatus.CANCELLED) else ""
    w = s.waiting_on
    who = f" ({', '.join(w.holders)})" if w.holders else ""
    return f"{w.on}: {w.detail}{who}" if w.detail else f"{w.on}{who}"


def step_elapsed(s: StepState, now: float) -> str:
    if s.first_started_at is None:
        return ""
    if s.status is StepStatus.RUNNING:
        return clock(now - s.first_started_at)
    return clock(s.duration_s) if s.duration_s is not None else ""


def time_cell(s: StepState, now: float) -> Text:
    return _t(step_elapsed(s, now))


def thread_rows(state: IncidentState, runbook: Runbook, thread: str | None, now: float) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for step in runbook.steps:
        if step.thread != thread:
            continue
        s = state.steps.get(step.id) or StepState(step.id)
        look = charset().looks[s.status]
        waiting = s.waiting_on.on if s.status is StepStatus.WAITING and s.waiting_on is not None else look.label
        rows[step.id] = (
            _t(step.id), _t(f"{look.glyph} {waiting}", look.style), time_cell(s, now),
            _t(s.attempts or ""), _t(waits_on(s)[:WAITS_ON_WIDTH], "yellow" if s.status is StepStatus.WAITING else "grey62"),
        )
    return rows


def thread_ids(runbook: Runbook) -> list[str | None]:
    """Threads in the runbook's order, then the steps that name none."""
    ids: list[str | None] = [t.id for t in runbook.threads]
    used = {s.thread for s in runbook.steps}
    ids += sorted(t for t in used if t is not None and t not in ids)
    if None in used:
        ids.append(None)
    return ids
