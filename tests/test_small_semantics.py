"""The smaller items of issue 11, each as a user meets it: `list` after a crash, `report` on a
live incident, claims on resources the runbook never names, releasing someone else's claim,
unset secrets, an output equal to a secret."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from engine_support import cli, group_alive, journal_state, start_long_run, write_runbook

from warroom.journal.state import RunResult, StepStatus


def test_list_after_a_crash_says_interrupted_while_a_live_run_says_running(tmp_path: Path) -> None:
    proc, journal = start_long_run(tmp_path)
    try:
        live = cli("list", "--journal", str(journal))
        assert live.stdout.splitlines()[1].split()[-1] == "running", live.stdout
        shown = cli("report", "--json", "--journal", str(journal))
        assert shown.returncode == 0, shown.stderr
        report = json.loads(shown.stdout)
        assert report["ended"] is False and report["mttr_s"] > 0
    finally:
        os.killpg(int((tmp_path / "pgid").read_text()), signal.SIGKILL)
        proc.kill()
        proc.wait(10)
    crashed = cli("list", "--journal", str(journal))
    assert crashed.stdout.splitlines()[1].split()[-1] == "interrupted?", crashed.stdout


def test_list_says_a_headless_stop_for_people_is_waiting(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """\
        runbook: asks
        steps:
          - {id: ask, manual: 'look at the graphs'}
        """)
    journal = str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--journal", journal).returncode == 3
    shown = cli("list", "--journal", journal).stdout.splitlines()[1]
    assert shown.endswith("waiting"), shown


def test_report_on_a_live_incident_counts_the_time_so_far(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """\
        runbook: asks
        steps:
          - {id: ask, manual: 'look at the graphs'}
        """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--journal", str(journal)).returncode == 3
    last_ts = journal_state(journal).last_ts
    assert last_ts is not None
    while time.time() < last_ts + 1.5:  # the incident goes on between events
        time.sleep(0.1)
    data = json.loads(cli("report", "--json", "--journal", str(journal)).stdout)
    assert data["ended"] is False
    assert data["mttr_s"] >= 1.5
    assert next(s for s in data["steps"] if s["id"] == "ask")["wait_s"] >= 1.5
    text = cli("report", "--journal", str(journal)).stdout
    assert "(so far: the run has not ended)" in text
    assert journal_state(journal).result is RunResult.WAITING


CLAIMS = """\
    runbook: claims
    steps:
      - {id: ask, manual: 'look at the graphs'}
      - {id: patch, run: 'true', needs: [ask], locks: [web-fleet]}
    """


def test_a_claim_on_a_resource_the_runbook_never_names_needs_force(tmp_path: Path) -> None:
    rb, journal = write_runbook(tmp_path, CLAIMS), str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--journal", journal).returncode == 3
    typo = cli("claim", "web-flet", "--as", "carol", "--journal", journal)
    assert typo.returncode == 1
    assert typo.stderr.strip() == ("warroom: refused: web-flet is not a resource this runbook names (its resources: "
                                   "web-fleet); did you mean 'web-fleet'?; claim it anyway with --force")
    assert journal_state(tmp_path / "j.db").claims == {}
    forced = cli("claim", "change-freeze", "--force", "--as", "carol", "--reason", "no deploys", "--journal", journal)
    assert forced.returncode == 0, forced.stderr
    assert cli("claim", "web-fleet", "--as", "carol", "--journal", journal).returncode == 0
    claims = journal_state(tmp_path / "j.db").claims
    assert sorted(claims) == ["change-freeze", "web-fleet"]


def test_releasing_someone_elses_claim_needs_a_reason(tmp_path: Path) -> None:
    rb, journal = write_runbook(tmp_path, CLAIMS), str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--journal", journal).returncode == 3
    assert cli("claim", "web-fleet", "--as", "carol", "--journal", journal).returncode == 0
    bare = cli("release", "web-fleet", "--as", "dave", "--journal", journal)
    assert bare.returncode == 1
    assert bare.stderr.strip() == ("warroom: refused: web-fleet is claimed by carol: releasing someone else's "
                                   "claim needs a reason (--reason TEXT)")
    assert "web-fleet" in journal_state(tmp_path / "j.db").claims
    why = cli("release", "web-fleet", "--as", "dave", "--reason", "carol went home", "--journal", journal)
    assert why.returncode == 0, why.stderr
    assert cli("claim", "web-fleet", "--as", "dave", "--journal", journal).returncode == 0
    assert cli("release", "web-fleet", "--as", "dave", "--journal", journal).returncode == 0  # one's own


SECRETIVE = """\
    runbook: secretive
    secrets: [WARROOM_TEST_TOKEN]
    steps:
      - {{id: touch, run: 'touch {dir}/ran'}}
    """


def test_an_unset_secret_stops_a_run_before_anything_starts_and_a_drill_warns(tmp_path: Path) -> None:
    rb, journal = write_runbook(tmp_path, SECRETIVE.format(dir=tmp_path)), tmp_path / "j.db"
    os.environ.pop("WARROOM_TEST_TOKEN", None)
    real = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert real.returncode == 2
    assert real.stderr.strip() == ("warroom: secrets not set in the environment: WARROOM_TEST_TOKEN: export them, "
                                   "then run again (nothing was started)")
    assert not journal.exists() and not (tmp_path / "ran").exists()
    drill = cli("run", str(rb), "--headless", "--drill", "--speed", "max", "--journal", str(journal))
    assert drill.returncode == 0, drill.stderr
    assert "warning: secrets not set in the environment: WARROOM_TEST_TOKEN" in drill.stderr


HELD = """\
    runbook: held
    secrets: [WARROOM_TEST_SECRET]
    steps:
      - {{id: make, run: 'echo v={{{{ secrets.WARROOM_TEST_SECRET }}}}', outputs: {{v: {{regex: 'v=(.*)'}}}}}}
      - {{id: use, needs: [make], run: 'printf %s {{{{ steps.make.outputs.v }}}} > {dir}/got'}}
      - {{id: ask, manual: 'look at the graphs'}}
      - {{id: later, needs: [make, ask], run: 'printf %s {{{{ steps.make.outputs.v }}}} > {dir}/later'}}
    """


def test_an_output_equal_to_a_secret_reaches_later_steps_and_stays_redacted(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WARROOM_TEST_SECRET", "hunter2-value")
    rb, journal = write_runbook(tmp_path, HELD.format(dir=tmp_path)), tmp_path / "j.db"
    first = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert first.returncode == 3, first.stderr
    assert (tmp_path / "got").read_text() == "hunter2-value"  # the value, not ***
    assert b"hunter2-value" not in journal.read_bytes()
    assert journal_state(journal).steps["make"].outputs == {"v": "***"}
    # resumed, the value is gone: the step that reads it waits for an operator, not runs with ***
    assert cli("done", "ask", "--journal", str(journal)).returncode == 0
    resumed = cli("resume", "--headless", "--journal", str(journal))
    assert resumed.returncode == 3, resumed.stderr
    later = journal_state(journal).steps["later"]
    assert later.status is StepStatus.WAITING and later.waiting_on is not None
    assert later.waiting_on.detail.startswith("reads steps.make.outputs.v, equal to a secret")
    assert not (tmp_path / "later").exists()
    hint = next(line for line in (resumed.stderr + resumed.stdout).splitlines() if "later waits for a person" in line)
    assert "warroom done later --incident" in hint and "--reason '...'" in hint, hint
    done = cli("done", "later", "--reason", "copied by hand", "--journal", str(journal))
    assert done.returncode == 0, done.stderr
    assert cli("resume", "--headless", "--journal", str(journal)).returncode == 0


def test_the_counterfactual_keeps_approvals_and_peoples_steps_where_they_are(tmp_path: Path) -> None:
    """Issue 11, item 12: on a linear runbook a gate holds back what follows it; only run
    steps that waited for other run steps are waits they do not need."""
    rb, journal = write_runbook(tmp_path, """\
        runbook: gated
        mode: linear
        steps:
          - {id: look, run: 'true', drill: {duration: [1m, 1m]}}
          - {id: gate, approval: 'go on?', drill: {duration: [5m, 5m]}}
          - {id: fix-a, run: 'true', drill: {duration: [2m, 2m]}}
          - {id: fix-b, run: 'true', drill: {duration: [2m, 2m]}}
        """), tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--drill", "--speed", "max", "--auto", "--journal", str(journal)).returncode == 0
    data = json.loads(cli("report", "--json", "--journal", str(journal)).stdout)
    waited = data["review"]["could_have_run_in_parallel"]
    assert [(w["step"], w["waited_for"]) for w in waited] == [("fix-b", ["fix-a"])]
    assert data["parallel_s"] == 60 + 300 + 120  # look, then the gate, then both fixes at once
    assert "people's steps and approvals kept where they are" in cli("report", "--journal", str(journal)).stdout
