"""What expressions and templates read while a run goes on: vars, secrets, and the steps'
status, exit code, duration, attempts and outputs, and the phases' status, all taken from the
folded state."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from warroom.journal.redact import MASK
from warroom.journal.state import IncidentState, PhaseStatus
from warroom.runbook.expressions import ExpressionError, Path, parse_expression
from warroom.runbook.model import Runbook
from warroom.runbook.templates import Command, TemplateError, command_references, parse_template

Resolver = Callable[[Path], Any]


def resolver(state: IncidentState, runbook: Runbook, own: dict[str, Any] | None = None,
             own_id: str | None = None) -> Resolver:
    """Values for paths; `own` overrides the step `own_id` (a check polling its `until`
    reads the outputs of the poll that just ended, not yet journaled)."""

    def resolve(path: Path) -> Any:
        root = path[0]
        if root == "vars":
            return state.vars.get(path[1], runbook.vars.get(path[1]))
        if root == "secrets":
            return os.environ.get(path[1], "")
        if root == "phases":
            return state.phases.get(path[1], PhaseStatus.PENDING.value) if path[2:] == ("status",) else None
        if root != "steps" or len(path) < 3:
            return None
        if own is not None and path[1] == own_id:
            if path[2] == "outputs":
                return own.get("outputs", {}).get(path[3]) if len(path) > 3 else None
            if path[2] in own:
                return own[path[2]]
        s = state.steps.get(path[1])
        if s is None:
            return None
        field = path[2]
        if field == "outputs":
            if len(path) <= 3:
                return None
            held = state.held_outputs.get(path[1], {})
            return held[path[3]] if path[3] in held else s.outputs.get(path[3])
        return {"status": s.status.value, "exit_code": s.exit_code, "duration": s.duration_s,
                "attempts": s.attempts}.get(field)

    return resolve


def lost_outputs(state: IncidentState, command: Command) -> list[str]:
    """Outputs a command reads whose value the journal redacted (it equals a secret) and this
    process never captured (the run was resumed): running with `***` in their place would be
    wrong, so the step waits for an operator."""
    lost = set()
    for ref in command_references(command):
        if len(ref) == 4 and ref[0] == "steps" and ref[2] == "outputs":
            s = state.steps.get(ref[1])
            if s is not None and s.outputs.get(ref[3]) == MASK and ref[3] not in state.held_outputs.get(ref[1], {}):
                lost.add(".".join(ref))
    return sorted(lost)


def evaluate(state: IncidentState, runbook: Runbook, step_id: str, text: str,
             own: dict[str, Any] | None = None) -> bool | str:
    """The expression's truth, or an error message (a step fails with it)."""
    try:
        return parse_expression(text).test(resolver(state, runbook, own, step_id))
    except ExpressionError as exc:
        return f"expression {text!r}: {exc.message}"


def render_text(state: IncidentState, runbook: Runbook, text: str) -> str:
    """A question or instructions with its placeholders filled, for people to read."""
    try:
        return parse_template(text).render(resolver(state, runbook))
    except TemplateError:
        return text
