"""The reducer on hand-written event sequences: every step state, every run result, and the
live fold (apply) agreeing with the stored fold (apply_rows)."""

from __future__ import annotations

import pytest
from journal_support import T0, web_runbook, write_web_incident

from warroom.journal import Event, JournalReader, Reducer, RunResult, StepStatus, reduce
from warroom.journal.events import EventType

RUNBOOK = web_runbook()


def events(*specs: tuple) -> list[Event]:
    """(type, mono, step, data[, actor]) tuples after a run.started, numbered in order."""
    out = [Event(1, "inc", T0, 0.0, "alice", "run.started", None,
                 {"runbook": RUNBOOK.to_dict(), "runbook_sha256": RUNBOOK.sha256(),
                  "starter": "alice"})]
    for i, (type_, mono, step, data, *actor) in enumerate(specs, start=2):
        out.append(Event(i, "inc", T0 + mono, mono, actor[0] if actor else "warroom",
                         type_, step, data))
    return out


def status_after(*specs: tuple, step: str = "purge") -> StepStatus:
    return reduce(events(*specs)).steps[step].status


STARTED = ("step.started", 1.0, "purge", {"attempt": 1})

CASES = {
    StepStatus.PENDING: [],
    StepStatus.WAITING: [("step.waiting", 1.0, "purge", {"on": "claim", "detail": "cdn",
                                                         "holders": ["bob"]})],
    StepStatus.RUNNING: [STARTED],
    StepStatus.SUCCEEDED: [STARTED, ("step.succeeded", 2.0, "purge", {"exit_code": 0})],
    StepStatus.FAILED: [STARTED, ("step.failed", 2.0, "purge", {"exit_code": 2, "reason": "x"})],
    StepStatus.SKIPPED: [("step.skipped", 1.0, "purge", {"reason": "when false"})],
    StepStatus.BLOCKED: [("step.blocked", 1.0, "purge", {"by": "probe"})],
    StepStatus.CANCELLED: [STARTED, ("step.cancelled", 2.0, "purge", {"reason": "fail-fast"})],
    StepStatus.IN_DOUBT: [STARTED, ("run.interrupted", 2.0, None, {"signal": "SIGKILL"}),
                          ("run.resumed", 3.0, None, {}), ("step.in_doubt", 3.0, "purge",
                                                           {"attempt": 1})],
    StepStatus.UNDONE: [STARTED, ("step.succeeded", 2.0, "purge", {"exit_code": 0}),
                        ("undo.started", 3.0, "purge", {}), ("undo.succeeded", 4.0, "purge", {})],
    StepStatus.UNDO_FAILED: [STARTED, ("step.succeeded", 2.0, "purge", {"exit_code": 0}),
                             ("undo.started", 3.0, "purge", {}),
                             ("undo.failed", 4.0, "purge", {"reason": "exit 1"})],
}


@pytest.mark.parametrize("expected", list(StepStatus), ids=lambda s: s.value)
def test_every_step_state_is_reachable_from_events(expected):
    assert status_after(*CASES[expected]) is expected


@pytest.mark.parametrize(("action", "expected"), [
    ("skip", StepStatus.SKIPPED), ("done", StepStatus.SUCCEEDED), ("fail", StepStatus.FAILED),
    ("retry", StepStatus.PENDING), ("rerun", StepStatus.PENDING),
])
def test_operator_overrides_set_the_step_state(action, expected):
    state = reduce(events(STARTED, ("step.in_doubt", 2.0, "purge", {"attempt": 1}),
                          ("operator.override", 3.0, "purge",
                           {"action": action, "reason": "checked by hand"}, "dave")))
    assert state.steps["purge"].status is expected
    assert state.overrides[-1].actor == "dave"
    assert state.steps["purge"].last_reason == f"{action} by dave: checked by hand"


def test_timeout_then_retry_then_success_counts_attempts_and_time():
    state = reduce(events(
        ("step.waiting", 1.0, "purge", {"on": "needs"}),
        ("step.started", 3.0, "purge", {"attempt": 1}),
        ("step.timed_out", 5.0, "purge", {"attempt": 1, "timeout_s": 120}),
        ("step.retry_scheduled", 5.0, "purge", {"attempt": 2, "delay_s": 5}),
        ("step.started", 10.0, "purge", {"attempt": 2}),
        ("step.succeeded", 12.0, "purge", {"attempt": 2, "exit_code": 0,
                                            "outputs": {"n": 3}}),
    ))
    s = state.steps["purge"]
    assert (s.status, s.attempts, s.exit_code, s.outputs) == (StepStatus.SUCCEEDED, 2, 0, {"n": 3})
    assert (s.wait_s, s.duration_s, s.runs) == (2.0, 9.0, [(3.0, 5.0), (10.0, 12.0)])


def test_waiting_records_what_and_whom():
    s = reduce(events(*CASES[StepStatus.WAITING])).steps["purge"]
    assert (s.waiting_on.on, s.waiting_on.detail, s.waiting_on.holders) == ("claim", "cdn", ("bob",))


def test_approvals_claims_locks_notes_escalations_and_decisions():
    state = reduce(events(
        ("approval.requested", 1.0, "approve", {"question": "Go?", "approvers": ["carol"],
                                                "four_eyes": True}),
        ("approval.rejected", 4.0, "approve", {"reason": "too risky"}, "carol"),
        ("claim.made", 2.0, None, {"resource": "db", "reason": "migration"}, "bob"),
        ("claim.made", 2.5, None, {"resource": "cdn", "reason": "inject", "by": "vendor"}, "drill"),
        ("claim.released", 3.0, None, {"resource": "db", "reason": "done"}, "bob"),
        ("lock.acquired", 3.0, "restart", {"locks": ["web-fleet", "dns:shared"]}),
        ("lock.released", 4.0, "restart", {"locks": ["dns:shared"]}),
        ("note.added", 5.0, None, {"text": "customer report"}, "erin"),
        ("escalation.raised", 6.0, "purge", {"to": "cdn-vendor", "reason": "timeout"}),
        ("decision.taken", 7.0, "probe", {"branch": 1, "when": None, "then": ["purge"],
                                          "skipped": ["restart"]}),
    ))
    a = state.approvals["approve"]
    assert (a.decision, a.by, a.reason, a.four_eyes) == ("rejected", "carol", "too risky", True)
    assert state.steps["approve"].status is StepStatus.FAILED
    assert state.steps["approve"].duration_s == 3.0
    assert {r: (c.by, c.reason) for r, c in state.claims.items()} == {"cdn": ("vendor", "inject")}
    assert [(c.resource, c.action) for c in state.claim_history] == [
        ("db", "made"), ("cdn", "made"), ("db", "released")]
    assert state.locks == {"web-fleet": ["restart"]}
    assert [(n.actor, n.text) for n in state.notes] == [("erin", "customer report")]
    assert state.escalations[0].to == "cdn-vendor"
    assert state.decisions[0].skipped == ("restart",)


@pytest.mark.parametrize(("last", "result"), [
    (("run.finished", 9.0, None, {"result": "rolled_back"}), RunResult.ROLLED_BACK),
    (("run.finished", 9.0, None, {"result": "waiting"}), RunResult.WAITING),
    (("run.aborted", 9.0, None, {"reason": "wrong runbook"}), RunResult.ABORTED),
    (("run.interrupted", 9.0, None, {"signal": "SIGINT"}), RunResult.INTERRUPTED),
])
def test_run_results(last, result):
    state = reduce(events(last))
    assert state.result is result and state.duration_s == 9.0
    assert reduce(events()).result is RunResult.RUNNING


def test_state_keeps_runbook_order_and_starter():
    state = reduce(events())
    assert list(state.steps) == list(RUNBOOK.step_ids)
    assert state.runbook == RUNBOOK and state.starter == "alice"


async def test_live_fold_equals_stored_fold(tmp_path):
    path = tmp_path / "j.db"
    inc = await write_web_incident(path)
    with JournalReader(path) as reader:
        stored = reader.state(inc)
        live = Reducer()
        for event in reader.events(inc):
            live.apply(event)
    assert live.state == stored
    assert stored.result is RunResult.SUCCEEDED and stored.head_hash
    assert all(s.status is StepStatus.SUCCEEDED for s in stored.steps.values())
    assert stored.steps["purge"].output_lines == 1 and stored.steps["probe"].output_lines == 1


def test_every_event_type_has_a_documented_data_contract():
    from warroom.journal.events import DATA_FIELDS, catalogue_markdown

    assert set(DATA_FIELDS) == set(EventType)
    assert all(f"`{t.value}`" in catalogue_markdown() for t in EventType)
