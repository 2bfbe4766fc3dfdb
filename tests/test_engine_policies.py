"""Failure policies with real failing commands: fail-fast rollback, continue, quorum, retries,
timeouts that end a whole process group, and the run's deadline."""

from __future__ import annotations

import time
from pathlib import Path

from engine_support import drive, group_alive, runbook
from warroom.journal.state import RunResult, StepStatus


async def test_fail_fast_cancels_running_steps_then_undoes_in_reverse_completion_order(tmp_path: Path) -> None:
    log, pid = tmp_path / "undo.log", tmp_path / "sleeper.pid"
    rb = runbook(tmp_path, f"""
        runbook: ff
        on_failure: fail-fast
        steps:
          - {{id: first, run: 'true', undo: echo first >> {log}}}
          - {{id: second, run: 'true', needs: [first], undo: echo second >> {log}}}
          - {{id: broken-undo, run: 'true', needs: [second], undo: 'echo broken >> {log}; exit 4'}}
          - {{id: third, run: 'true', needs: [broken-undo], undo: echo third >> {log}}}
          - {{id: sleeper, run: 'echo $$ > {pid}; exec sleep 30', needs: [third]}}
          - {{id: boom, run: 'sleep 0.2; exit 3', needs: [third]}}
          - {{id: later, run: 'true', needs: [boom]}}
    """)
    began = time.monotonic()
    run = await drive(tmp_path / "j.db", rb)
    assert time.monotonic() - began < 5  # the sleep 30 was not waited for
    assert not group_alive(int(pid.read_text()))
    assert run.status("sleeper") is StepStatus.CANCELLED
    assert run.status("later") is StepStatus.CANCELLED
    assert log.read_text().split() == ["third", "broken", "second", "first"]
    cancelled = run.first("step.cancelled", "sleeper").seq
    assert all(e.seq > cancelled for e in run.of("undo.started"))  # rollback waited for the cancel
    assert run.status("broken-undo") is StepStatus.UNDO_FAILED
    assert run.status("first") is StepStatus.UNDONE
    assert any(e.step == "broken-undo" for e in run.of("escalation.raised"))
    assert run.state.result is RunResult.FAILED  # an undo failed: not a clean rollback


async def test_fail_fast_with_clean_undos_ends_rolled_back(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    rb = runbook(tmp_path, f"""
        runbook: ff
        steps:
          - {{id: a, run: 'true', undo: echo a >> {log}}}
          - {{id: b, run: 'exit 1', needs: [a]}}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert log.read_text().split() == ["a"]
    assert run.state.result is RunResult.ROLLED_BACK
    assert run.first("step.failed", "b").data["exit_code"] == 1


async def test_continue_blocks_dependents_and_lets_independent_steps_go_on(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: cont
        on_failure: continue
        steps:
          - {id: bad, run: 'exit 2'}
          - {id: after-bad, run: 'true', needs: [bad]}
          - {id: after-after, run: 'true', needs: [after-bad]}
          - {id: other, run: 'sleep 0.1'}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.status("after-bad") is StepStatus.BLOCKED
    assert run.status("after-after") is StepStatus.BLOCKED
    assert run.first("step.blocked", "after-bad").data["by"] == "bad"
    assert run.status("other") is StepStatus.SUCCEEDED
    assert run.state.result is RunResult.FAILED
    assert not run.of("undo.started")


QUORUM = """
runbook: q
on_failure: quorum
quorum: {quorum}
steps:
  - {{id: r1, run: 'true'}}
  - {{id: r2, run: 'true'}}
  - {{id: r3, run: 'exit 1'}}
  - {{id: r3-after, run: 'true', needs: [r3]}}
  - {{id: r4, run: '{r4}'}}
"""


async def test_quorum_count_met_despite_a_failure_and_its_blocked_dependent(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, QUORUM.format(quorum=3, r4="true")))
    assert run.status("r3-after") is StepStatus.BLOCKED
    assert run.state.result is RunResult.SUCCEEDED


async def test_quorum_percent_not_met_fails_and_escalates(tmp_path: Path) -> None:
    # 60% of 5 steps is 3; r1 and r2 succeed, r3, r3-after and r4 cannot.
    run = await drive(tmp_path / "j.db", runbook(tmp_path, QUORUM.format(quorum='"60%"', r4="exit 1")))
    assert run.state.result is RunResult.FAILED
    reasons = [e.data["reason"] for e in run.of("escalation.raised")]
    assert any("quorum of 60% can no longer be met" in r for r in reasons)


async def test_quorum_escalates_as_soon_as_blocked_dependents_make_it_unreachable(tmp_path: Path) -> None:
    # 80% of 5 is 4: once r3 fails, r3-after is blocked and 4 successes are out of reach.
    run = await drive(tmp_path / "j.db", runbook(tmp_path, QUORUM.format(quorum='"80%"', r4="sleep 0.3")))
    escalation = run.first("escalation.raised")
    assert "can no longer be met" in escalation.data["reason"]
    assert escalation.seq < run.first("step.succeeded", "r4").seq
    assert run.state.result is RunResult.FAILED


async def test_retries_wait_with_backoff_before_each_attempt(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: r
        steps:
          - id: flaky
            run: 'true'
            retries: {count: 3, delay: 10s, backoff: 2}
            drill: {duration: [5s, 5s], fail_attempts: [1, 2, 3]}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    scheduled = run.of("step.retry_scheduled", "flaky")
    assert [(e.data["attempt"], e.data["delay_s"]) for e in scheduled] == [(2, 10), (3, 20), (4, 40)]
    starts = [e.mono for e in run.of("step.started", "flaky")]
    assert starts == [0, 15, 40, 85]
    assert run.status("flaky") is StepStatus.SUCCEEDED
    assert run.state.steps["flaky"].attempts == 4


async def test_real_retry_after_a_failing_attempt(tmp_path: Path) -> None:
    marker = tmp_path / "seen"
    rb = runbook(tmp_path, f"""
        runbook: r
        steps:
          - id: once
            run: 'test -e {marker} || {{ touch {marker}; exit 1; }}'
            retries: {{count: 1, delay: 0.05s}}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert [e.data["attempt"] for e in run.of("step.started", "once")] == [1, 2]
    assert run.first("step.retry_scheduled", "once").data["delay_s"] == 0.05
    assert run.state.result is RunResult.SUCCEEDED


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pid = tmp_path / "pid"
    rb = runbook(tmp_path, f"""
        runbook: t
        on_failure: continue
        steps:
          - id: hang
            run: 'echo $$ > {pid}; sleep 30 & sleep 30'
            timeout: 0.3s
    """)
    began = time.monotonic()
    run = await drive(tmp_path / "j.db", rb)
    assert time.monotonic() - began < 5
    timed_out = run.first("step.timed_out", "hang")
    assert timed_out.data["timeout_s"] == 0.3
    assert not group_alive(int(pid.read_text()))
    assert run.status("hang") is StepStatus.FAILED
    assert "timed out" in run.state.steps["hang"].last_reason


async def test_the_run_deadline_escalates(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: d
        deadline: 1m
        roles: {carol: commander}
        steps:
          - {id: long, run: 'true', drill: {duration: [2m, 2m]}}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    passed = run.first("run.deadline_passed")
    assert passed.mono == 60
    escalation = run.first("escalation.raised")
    assert escalation.data["to"] == "carol" and "deadline" in escalation.data["reason"]
    assert run.state.result is RunResult.SUCCEEDED


async def test_approval_timeout_rejects_or_escalates(tmp_path: Path) -> None:
    text = """
        runbook: a
        on_failure: continue
        roles: {{carol: commander}}
        steps:
          - {{id: gate, approval: Go?, timeout: 5m, on_timeout: {how}}}
          - {{id: after, run: 'true', needs: [gate]}}
    """
    rejected = await drive(tmp_path / "r.db", runbook(tmp_path, text.format(how="reject")), drill=True)
    assert rejected.first("approval.rejected", "gate").mono == 300
    assert rejected.status("gate") is StepStatus.FAILED
    assert rejected.status("after") is StepStatus.BLOCKED
    assert rejected.state.result is RunResult.FAILED
    escalated = await drive(tmp_path / "e.db", runbook(tmp_path, text.format(how="escalate")), drill=True)
    raised = escalated.first("escalation.raised", "gate")
    assert raised.mono == 300 and raised.data["to"] == "carol"
    assert escalated.status("gate") is StepStatus.WAITING
    assert escalated.state.result is RunResult.WAITING
