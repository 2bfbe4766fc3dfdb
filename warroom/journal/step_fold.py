"""What every handler of the fold shares about a step: its state, and its clock.

Both reducer.py (the run and the steps' own events) and people_fold.py (what people cause)
open and close a step's waits and runs; the rules for those times live here once, so an
approval granted ends a step exactly as a success does.
"""

from __future__ import annotations

from warroom.journal.state import IncidentState, StepState


def step_state(state: IncidentState, step_id: str | None) -> StepState:
    """The step's state, made on its first mention (an event may name a step the
    embedded runbook lacks: a damaged or hand-made journal still folds)."""
    key = step_id or ""
    s = state.steps.get(key)
    if s is None:
        s = state.steps[key] = StepState(key)
    return s


def wait_on(s: StepState, mono: float, on: str | None) -> None:
    """Closes the step's current wait (adding it to its total by kind), opens `on`."""
    if s.open_wait is not None:
        kind, since = s.open_wait
        s.waits[kind] = s.waits.get(kind, 0.0) + max(0.0, mono - since)
    s.open_wait = (on, mono) if on is not None else None


def end_step(s: StepState, mono: float, since: float | None = None) -> None:
    """The step has ended: its wait and run close, its duration counts from its first start
    (or `since`, for a step that never ran: an approval)."""
    wait_on(s, mono, None)
    s.ended_at = mono
    close_run(s, mono)
    start = s.first_started_at if s.first_started_at is not None else since
    if start is not None:
        s.duration_s = mono - start
    s.waiting_on = None


def close_run(s: StepState, mono: float) -> None:
    if s.runs and s.runs[-1][1] is None:
        s.runs[-1] = (s.runs[-1][0], mono)
