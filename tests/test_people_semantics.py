"""What people do means what they meant: a person's skip counts as met, a gate is answered
only by who may approve it (a skip included), --auto is for drills and never plays four
eyes, and a page never keeps a headless run from stopping for a person."""

from __future__ import annotations

import time
from pathlib import Path

from engine_support import cli, journal_events, journal_state, write_runbook
from warroom.journal.state import RunResult, StepStatus

LINEAR = """
    runbook: linear
    mode: linear
    roles: {alice: commander, bob: commander}
    steps:
      - {id: first, manual: 'open the change'}
      - {id: second, run: 'true'}
      - {id: gate, approval: 'ship it?', four_eyes: true}
      - {id: last, run: 'true'}
"""


def test_a_skipped_step_counts_as_met_and_a_skipped_gate_needs_an_approver(tmp_path: Path) -> None:
    rb, journal = write_runbook(tmp_path, LINEAR), str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--as", "alice", "--journal", journal).returncode == 3
    assert cli("skip", "first", "--as", "alice", "--reason", "already open", "--journal", journal).returncode == 0
    assert cli("resume", "--headless", "--as", "alice", "--journal", journal).returncode == 3
    state = journal_state(tmp_path / "j.db")
    assert state.steps["second"].status is StepStatus.SUCCEEDED  # not "all its needs were skipped"
    assert state.steps["gate"].status is StepStatus.WAITING
    refused = cli("skip", "gate", "--as", "alice", "--reason", "hurry", "--journal", journal)
    assert refused.returncode == 1 and "four eyes" in refused.stderr
    assert cli("skip", "gate", "--as", "bob", "--reason", "approved on the bridge", "--journal", journal).returncode == 0
    assert cli("resume", "--headless", "--as", "alice", "--journal", journal).returncode == 0
    state = journal_state(tmp_path / "j.db")
    assert state.steps["last"].status is StepStatus.SUCCEEDED and state.result is RunResult.SUCCEEDED


def test_auto_is_a_usage_error_on_a_real_run(tmp_path: Path) -> None:
    res = cli("run", str(write_runbook(tmp_path, LINEAR)), "--headless", "--auto", "--journal", str(tmp_path / "j.db"))
    assert res.returncode == 2 and "--drill" in res.stderr
    assert not (tmp_path / "j.db").exists()


def test_auto_never_grants_a_four_eyes_gate(tmp_path: Path) -> None:
    rb, journal = write_runbook(tmp_path, LINEAR), str(tmp_path / "j.db")
    res = cli("run", str(rb), "--headless", "--drill", "--speed", "max", "--auto", "--as", "alice", "--journal", journal)
    assert res.returncode == 3, res.stderr
    state = journal_state(tmp_path / "j.db")
    assert state.steps["first"].status is StepStatus.SUCCEEDED  # --auto did the manual step
    assert state.steps["gate"].status is StepStatus.WAITING and "approve gate" in res.stderr


def test_a_headless_run_with_a_page_still_stops_for_a_person(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """
        runbook: paging
        steps:
          - {id: page, escalate: 'the DBA on call', notify: 'echo paged'}
    """)
    res = cli("run", str(rb), "--headless", "--journal", str(tmp_path / "j.db"), timeout=20)
    assert res.returncode == 3, res.stderr
    assert "paged" in res.stdout


def test_validate_refuses_a_four_eyes_gate_only_one_person_may_answer(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """\
        runbook: lonely
        roles: {carol: commander, dave: scribe}
        steps:
          - id: by-commander
            approval: 'fail over?'
            four_eyes: true
          - id: by-name
            approval: 'restart?'
            four_eyes: true
            approvers: [dave, dave]
          - id: enough
            approval: 'ship?'
            four_eyes: true
            approvers: [carol, dave]
          - id: plain
            approval: 'go?'
            approvers: [dave]
        """)
    result = cli("validate", str(rb))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line.replace(str(rb), "rb.yaml") for line in (result.stdout + result.stderr).splitlines() if "four-eyes" in line]
    assert lines == [
        "rb.yaml:6:5: four-eyes gate 'by-commander' has one person who may answer it (carol, the only commander, as it names no approvers): if carol starts the run no one may; name two approvers",
        "rb.yaml:10:5: four-eyes gate 'by-name' has one person who may answer it (dave, its only approver): if dave starts the run no one may; name two approvers",
    ]


ESCALATING = """\
    runbook: escalating
    deadline: 10m
    roles: {carol: commander, dave: dba}
    threads:
      db: {title: Database, owner: dave}
    steps:
      - id: failover
        thread: db
        approval: 'promote the replica?'
        four_eyes: true
        approvers: [carol, dave]
        timeout: 5m
        on_timeout: escalate
    """


def test_escalations_go_to_someone_who_can_answer_never_only_the_shut_out_starter(tmp_path: Path) -> None:
    """Issue 11, item 8: carol, the only commander, started the run, so four eyes shuts her
    out of the gate; its timeout and the deadline escalate to dave, the thread's owner."""
    rb, journal = write_runbook(tmp_path, ESCALATING), tmp_path / "j.db"
    result = cli("run", str(rb), "--headless", "--drill", "--speed", "max", "--as", "carol", "--journal", str(journal))
    assert result.returncode == 3, result.stderr
    resumed = cli("resume", "--headless", "--journal", str(journal), "--as", "carol", timeout=60)
    escalations = [(e.data["to"], e.data["reason"]) for e in journal_events(journal) if e.type == "escalation.raised"]
    assert ("dave", "approval failover unanswered after its timeout") in escalations, (escalations, resumed.stderr)
    assert all(to == "dave" for to, _ in escalations), escalations


def test_an_approval_timeout_escalates_once_however_often_the_run_is_resumed(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """\
        runbook: slow-answer
        roles: {alice: commander, bob: approver}
        steps:
          - {id: gate, approval: 'Fail over?', approvers: [bob], timeout: 1s, on_timeout: escalate}
        """)
    journal = str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--as", "alice", "--journal", journal).returncode == 3
    time.sleep(1.2)  # the timeout passes while nobody runs the incident
    for _ in range(3):
        assert cli("resume", "--headless", "--as", "alice", "--journal", journal).returncode == 3
    escalations = [e for e in journal_state(tmp_path / "j.db").escalations if e.step == "gate"]
    assert len(escalations) == 1, escalations
