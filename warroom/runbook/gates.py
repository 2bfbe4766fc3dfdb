"""Who may answer a gate, known from the runbook alone, so `validate` can refuse a gate that
no run could get past: under four eyes the run's starter may not answer, so a four-eyes gate
needs two people who may, or whoever of them starts the run leaves it unanswerable."""

from __future__ import annotations

from collections.abc import Iterator

from warroom.runbook.model import Runbook, Step, StepKind

COMMANDER = "commander"


def possible_approvers(runbook: Runbook, step: Step) -> tuple[str, ...]:
    """A gate's approvers, else the runbook's commanders; empty means anyone may answer."""
    if step.approvers:
        return tuple(dict.fromkeys(step.approvers))
    return tuple(person for person, role in runbook.roles.items() if role == COMMANDER)


def unanswerable_gates(runbook: Runbook) -> Iterator[tuple[Step, str]]:
    """Four-eyes gates with fewer than two people who may answer, each with why."""
    for step in runbook.steps:
        if step.kind is not StepKind.APPROVAL or not step.four_eyes:
            continue
        who = possible_approvers(runbook, step)
        if not who or len(who) >= 2:
            continue
        source = "its only approver" if step.approvers else "the only commander, as it names no approvers"
        yield step, (f"four-eyes gate {step.id!r} has one person who may answer it ({who[0]}, {source}): "
                     f"if {who[0]} starts the run no one may; name two approvers")
