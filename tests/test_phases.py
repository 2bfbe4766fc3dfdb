"""Phases as an incident commander reads them (issue 11, item 4): a `continue` phase that
ended with failures does not hold back the phases after it, a fail-fast phase stops the run
and rolls back, and a phase's `when` (reading `phases.ID.status`) can pass over remediation
when triage failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import ROOT, carry_to_end, drive, runbook, write_runbook

from warroom.journal.state import RunResult, StepStatus
from warroom.runbook.errors import RunbookError
from warroom.runbook.loader import load_runbook

GUARDED = """
runbook: guarded
phases:
  - id: triage
    on_failure: continue
    steps:
      - {{id: look, check: 'true', drill: {{duration: [1m, 1m], fail: {fail}}}}}
  - id: remediate
    when: phases.triage.status == "succeeded"
    steps:
      - {{id: fix, run: 'true', undo: 'true', drill: {{duration: [1m, 1m]}}}}
      - {{id: after-fix, run: 'true', needs: [fix], drill: {{duration: [1m, 1m]}}}}
  - id: escalate
    when: phases.remediate.status == "skipped"
    steps:
      - {{id: page, title: 'triage failed: call the DBA', escalate: dba}}
"""


async def test_a_phase_whose_when_is_false_is_passed_over(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, GUARDED.format(fail=1)), drill=True, auto=True)
    assert run.status("fix") is StepStatus.SKIPPED and run.status("after-fix") is StepStatus.SKIPPED
    assert run.first("step.skipped", "fix").data["reason"] == 'phase remediate: when: phases.triage.status == "succeeded" is false'
    assert not run.of("step.started", "fix")
    assert run.state.phases == {"triage": "failed", "remediate": "skipped", "escalate": "succeeded"}
    assert run.status("page") is StepStatus.SUCCEEDED


async def test_a_phase_whose_when_holds_runs(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, GUARDED.format(fail=0)), drill=True)
    assert run.status("after-fix") is StepStatus.SUCCEEDED
    assert run.status("page") is StepStatus.SKIPPED
    assert run.state.phases == {"triage": "succeeded", "remediate": "succeeded", "escalate": "skipped"}
    assert run.state.result is RunResult.SUCCEEDED


async def test_a_fail_fast_phase_stops_the_run_and_rolls_back(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: stops
        phases:
          - id: fix
            steps:
              - {id: patch, run: 'true', undo: 'true', drill: {duration: [1m, 1m]}}
              - {id: restart, run: 'true', needs: [patch], drill: {duration: [1m, 1m], fail: 1}}
          - id: verify
            on_failure: continue
            steps:
              - {id: probe, check: 'true'}
        """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    assert run.status("patch") is StepStatus.UNDONE
    assert run.status("probe") is StepStatus.CANCELLED
    assert run.state.result is RunResult.ROLLED_BACK


def test_database_disk_full_still_remediates_when_the_standby_fails_twice(tmp_path: Path) -> None:
    """The issue's drill: two injects armed before prepare-standby starts fail both its
    attempts; the investigate phase (continue) ends failed and the primary is remediated."""
    injects = write_runbook(tmp_path, """\
        - {at: 5m, fail: prepare-standby}
        - {at: 6m30s, fail: prepare-standby}
        """, "injects.yaml")
    journal = tmp_path / "j.db"
    state = carry_to_end(journal, ["run", str(ROOT / "runbooks" / "database-disk-full.yaml"), "--drill",
                                   "--speed", "max", "--headless", "--inject", str(injects), "--journal", str(journal)])
    standby = state.steps["prepare-standby"]
    assert (standby.status, standby.attempts) == (StepStatus.FAILED, 2)
    assert state.phases["investigate"] == "failed"
    assert state.phases["remediate"] == "succeeded"
    assert state.steps["grow-filesystem"].status is StepStatus.SUCCEEDED
    assert state.result is RunResult.SUCCEEDED


@pytest.mark.parametrize(("when", "message"), [
    ('phases.later.status == "failed"', "phases.later.status: phase 'later' has not ended when this is read; read it from a later phase"),
    ('phases.guarded.status == "failed"', "phases.guarded.status: phase 'guarded' has not ended when this is read; read it from a later phase"),
    ('phases.triag.status == "failed"', "unknown phase 'triag' in phases.triag.status; did you mean 'triage'?"),
    ('phases.triage.result == "failed"', "phases.triage.result: write phases.<id>.status"),
])
def test_a_phase_guard_reads_only_phases_that_have_ended(tmp_path: Path, when: str, message: str) -> None:
    path = write_runbook(tmp_path, f"""\
        phases:
          - id: triage
            steps: [{{id: a, run: 'true'}}]
          - id: guarded
            when: '{when}'
            steps: [{{id: b, run: 'true'}}]
          - id: later
            steps: [{{id: c, run: 'true'}}]
        """)
    with pytest.raises(RunbookError) as info:
        load_runbook(path)
    assert [str(p).split(": ", 1)[1] for p in info.value.problems] == [message]
    assert str(info.value.problems[0]).startswith(f"{path}:5:")


@pytest.mark.parametrize("deadline, result", [("", RunResult.SUCCEEDED), ("deadline: 30s", RunResult.FAILED)])
async def test_after_a_continue_phase_failed_the_later_phases_or_the_deadline_say_how_it_ends(
        tmp_path: Path, deadline: str, result: RunResult) -> None:
    text = GUARDED.format(fail=1).replace("runbook: guarded\n", f"runbook: guarded\n{deadline}\n")
    run = await drive(tmp_path / "j.db", runbook(tmp_path, text), drill=True, auto=True)
    assert run.state.phases == {"triage": "failed", "remediate": "skipped", "escalate": "succeeded"}
    assert run.state.deadline_passed is bool(deadline)
    assert run.state.result is result
