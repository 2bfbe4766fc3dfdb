"""The runbooks shipped in runbooks/ load, are drillable, and between them show every feature.

They are what a new user opens first and what the docs point at, so a runbook that stops
loading, a drill that would poll forever, or a feature no example shows is a visible defect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from warroom.runbook.expressions import parse_expression
from warroom.runbook.loader import load_runbook
from warroom.runbook.model import FailurePolicy, Mode, Model, Runbook, Step, StepKind
from warroom.runbook.templates import parse_template

RUNBOOK_DIR = Path(__file__).resolve().parent.parent / "runbooks"
PATHS = sorted(RUNBOOK_DIR.glob("*.yaml"))
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/runbook.schema.json"
DRILLED_KINDS = {StepKind.RUN, StepKind.CHECK, StepKind.WAIT, StepKind.ESCALATE}


@pytest.fixture(scope="module")
def runbooks() -> dict[str, Runbook]:
    return {path.name: load_runbook(path) for path in PATHS}


def all_steps(runbooks: dict[str, Runbook]) -> list[tuple[Runbook, Step]]:
    return [(rb, s) for rb in runbooks.values() for s in rb.steps]


def step_texts(step: Step) -> list[str]:
    """Every text of a step that may hold `{{ ... }}` placeholders."""
    texts: list[str] = []
    for command in (step.command, step.undo, step.notify):
        if isinstance(command, str):
            texts.append(command)
        elif command:
            texts.extend(command)
    texts.extend(t for t in (step.instructions, step.question) if t)
    return texts


def references(step: Step) -> set[tuple[str, ...]]:
    refs: set[tuple[str, ...]] = set()
    for text in step_texts(step):
        refs |= parse_template(text).references
    for expression in (step.when, step.until, *(b.when for b in step.branches)):
        if expression:
            refs |= parse_expression(expression).references
    return refs


def test_at_least_six_runbooks_ship() -> None:
    assert len(PATHS) >= 6


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_each_runbook_loads_and_names_its_schema_for_editors(path: Path) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_LINE
    runbook = load_runbook(path)
    assert runbook.id == path.stem
    assert runbook.title
    assert runbook.vars, "every bundled runbook parameterizes its targets with vars"
    assert runbook.deadline_s is not None


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_step_has_an_estimate_a_thread_and_a_drill_where_drills_replace_it(path: Path) -> None:
    runbook = load_runbook(path)
    threads = {t.id: t for t in runbook.threads}
    assert threads and all(t.title and t.owner for t in threads.values())
    for step in runbook.steps:
        assert step.estimate_s is not None, step.id
        assert step.title, step.id
        assert step.thread in threads, step.id
        if step.kind in DRILLED_KINDS:
            assert step.drill is not None and step.drill.duration_s is not None, step.id


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_drills_provide_every_output_that_later_steps_read(path: Path) -> None:
    runbook = load_runbook(path)
    for step in runbook.steps:
        if step.drill is not None:
            declared = {o.name for o in step.outputs}
            assert set(step.drill.outputs) <= declared, step.id
        for ref in references(step):
            if ref[0] == "steps" and ref[2] == "outputs":
                source = runbook.step(ref[1])
                assert source.drill is not None and ref[3] in source.drill.outputs, (
                    f"{step.id} reads {'.'.join(ref)} but the drill of {ref[1]} does not give it"
                )


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_every_until_holds_on_its_drill_outputs_so_drills_do_not_poll_forever(path: Path) -> None:
    runbook = load_runbook(path)

    def resolve(ref: tuple[str, ...]) -> Any:
        if ref[0] == "vars":
            return runbook.vars[ref[1]]
        drill = runbook.step(ref[1]).drill
        return drill.outputs.get(ref[3]) if drill and ref[2] == "outputs" else None

    for step in runbook.steps:
        if step.until:
            assert parse_expression(step.until).test(resolve), step.id


def test_the_models_linear_parallel_adaptive_and_hybrid_all_appear(runbooks: dict[str, Runbook]) -> None:
    models = {rb.model for rb in runbooks.values()}
    assert models == {Model.LINEAR, Model.PARALLEL, Model.ADAPTIVE, Model.HYBRID}


def test_an_adaptive_tree_falls_back_to_escalation(runbooks: dict[str, Runbook]) -> None:
    fallbacks = [
        (rb, target)
        for rb, s in all_steps(runbooks)
        if s.kind is StepKind.DECIDE
        for b in s.branches
        if b.when is None
        for target in b.then
    ]
    assert any(rb.step(t).kind is StepKind.ESCALATE for rb, t in fallbacks)
    escalations = [s for _, s in all_steps(runbooks) if s.kind is StepKind.ESCALATE]
    assert any(s.notify for s in escalations)


def test_hybrid_runbooks_mix_linear_and_parallel_phases(runbooks: dict[str, Runbook]) -> None:
    hybrids = [rb for rb in runbooks.values() if rb.phases]
    assert hybrids
    for rb in hybrids:
        assert {p.mode for p in rb.phases} == {Mode.LINEAR, Mode.PARALLEL}


def test_every_failure_policy_appears_and_quorum_says_how_many(runbooks: dict[str, Runbook]) -> None:
    scopes = [(rb.on_failure, rb.quorum) for rb in runbooks.values() if not rb.phases]
    scopes += [(p.on_failure, p.quorum) for rb in runbooks.values() for p in rb.phases]
    assert {policy for policy, _ in scopes} == set(FailurePolicy)
    assert all(q is not None for policy, q in scopes if policy is FailurePolicy.QUORUM)


def test_approvals_include_four_eyes_named_approvers_and_an_escalating_timeout(
    runbooks: dict[str, Runbook],
) -> None:
    approvals = [s for _, s in all_steps(runbooks) if s.kind is StepKind.APPROVAL]
    assert any(s.four_eyes for s in approvals)
    assert any(s.approvers for s in approvals)
    assert any(s.timeout_s and s.on_timeout is not None and s.on_timeout.value == "escalate" for s in approvals)
    assert any(rb.roles for rb in runbooks.values())


def test_a_resource_is_locked_both_exclusively_and_shared(runbooks: dict[str, Runbook]) -> None:
    for rb in runbooks.values():
        locks = [lk for s in rb.steps for lk in s.locks]
        if {lk.name for lk in locks if lk.shared} & {lk.name for lk in locks if not lk.shared}:
            return
    pytest.fail("no runbook holds one resource both exclusively and shared")


def test_undo_retries_timeouts_polling_waits_and_manual_steps_appear(runbooks: dict[str, Runbook]) -> None:
    steps = [s for _, s in all_steps(runbooks)]
    assert any(s.undo for s in steps)
    assert any(s.retries.count > 0 and s.retries.backoff > 1 for s in steps)
    assert any(s.timeout_s for s in steps)
    assert any(s.kind is StepKind.CHECK and s.until for s in steps)
    assert any(s.kind is StepKind.WAIT and s.wait_s for s in steps)
    assert any(s.kind is StepKind.MANUAL and s.instructions for s in steps)
    assert any(s.when for s in steps)
    assert any(isinstance(s.command, tuple) for s in steps), "an exec argv command"
    assert any(s.drill and s.drill.fail_attempts for s in steps)
    assert any(s.drill and s.drill.fail > 0 for s in steps)


def test_secrets_deadlines_and_a_parallel_cap_appear(runbooks: dict[str, Runbook]) -> None:
    assert any(rb.secrets for rb in runbooks.values())
    assert any(rb.max_parallel for rb in runbooks.values())


def test_steps_read_upstream_outputs_in_commands(runbooks: dict[str, Runbook]) -> None:
    readers = [
        s
        for _, s in all_steps(runbooks)
        if s.kind in (StepKind.RUN, StepKind.CHECK)
        and any(ref[0] == "steps" for text in step_texts(s) for ref in parse_template(text).references)
    ]
    assert readers
