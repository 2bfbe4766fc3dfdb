"""A step in doubt when a rollback starts (issue 12.3): the runner was SIGKILLed while a
non-idempotent step with an undo ran, so nobody knows whether its change is in place. The
rollback must not cancel it silently: the commander is asked, says "it ran" (undo) or "it did
not" (skip), and a failed or cut-short undo can be run again or marked done by hand.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from engine_support import ROOT, cli, journal_state, wait_until, write_runbook
from warroom.engine.orphans import still_running
from warroom.journal.state import IncidentState, RunResult, StepStatus

RUNBOOK = """\
    runbook: doubt
    on_failure: fail-fast
    steps:
      - id: patch
        run: echo $$ > {dir}/patch.pid; echo patched >> {dir}/ledger; exec sleep 30
        undo: echo unpatched >> {dir}/ledger
      - id: probe
        idempotent: true
        run: test -e {dir}/resumed && exit 1; exec sleep 30
"""


def killed_once(tmp_path: Path, rb: Path, pid_file: Path) -> Path:
    """A headless run of `rb` SIGKILLed once `pid_file` is written, its orphans ended too (a
    power cut); from then on `resumed` exists, for the commands that read it."""
    journal = tmp_path / "j.db"
    proc = subprocess.Popen([sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip() != "", f"{pid_file.name} to be written", timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    power_cut(journal)
    (tmp_path / "resumed").touch()
    return journal


def killed_mid_patch(tmp_path: Path) -> Path:
    """Killed while `patch` runs: the journal says patch started and has no result; at resume
    probe fails, so the rollback starts then."""
    return killed_once(tmp_path, write_runbook(tmp_path, RUNBOOK.format(dir=tmp_path)), tmp_path / "patch.pid")


def power_cut(journal: Path) -> None:
    """The killed runner's step processes die too, as on a machine that lost power."""
    incident = journal_state(journal).incident
    for pids in still_running(incident).values():
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not still_running(incident), "the orphans to end", timeout=30)


def resume(journal: Path) -> tuple[int, str, IncidentState]:
    res = cli("resume", "--headless", "--journal", str(journal))
    assert "Traceback" not in res.stderr, res.stderr
    return res.returncode, res.stdout + res.stderr, journal_state(journal)


def test_a_rollback_asks_about_a_step_in_doubt_and_undoes_it_when_told_it_ran(tmp_path: Path) -> None:
    journal = killed_mid_patch(tmp_path)
    code, said, state = resume(journal)
    assert code == 3, said  # waiting for a person, not ended
    assert state.rollback is not None and state.steps["probe"].status is StepStatus.FAILED
    assert state.steps["patch"].status is StepStatus.IN_DOUBT  # not cancelled
    assert any(e.step == "patch" and "in doubt" in e.reason for e in state.escalations)
    assert "warroom undo patch" in said and "warroom skip patch" in said
    refused = cli("done", "patch", "--reason", "it ran", "--journal", str(journal))
    assert refused.returncode != 0 and "undo it" in refused.stderr
    assert cli("undo", "patch", "--reason", "the ledger shows the patch", "--journal", str(journal)).returncode == 0
    code, said, state = resume(journal)
    assert (tmp_path / "ledger").read_text().split() == ["patched", "unpatched"]
    assert state.steps["patch"].status is StepStatus.UNDONE
    assert state.result is RunResult.ROLLED_BACK, said


def test_told_it_did_not_run_the_rollback_ends_without_its_undo(tmp_path: Path) -> None:
    journal = killed_mid_patch(tmp_path)
    assert resume(journal)[0] == 3
    assert cli("skip", "patch", "--reason", "never reached the database", "--journal", str(journal)).returncode == 0
    code, said, state = resume(journal)
    assert (tmp_path / "ledger").read_text().split() == ["patched"]  # no undo ran
    assert state.steps["patch"].status is StepStatus.SKIPPED
    assert state.result is RunResult.FAILED and code == 1, said


def test_an_undo_cut_short_can_be_run_again_or_marked_done(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, f"""\
        runbook: undo-doubt
        on_failure: fail-fast
        steps:
          - id: patch
            run: echo patched >> {tmp_path}/ledger
            undo: echo $$ > {tmp_path}/undo.pid; test -e {tmp_path}/resumed || exec sleep 30; echo unpatched >> {tmp_path}/ledger
          - id: boom
            needs: [patch]
            run: exit 1
        """)
    journal = killed_once(tmp_path, rb, tmp_path / "undo.pid")
    code, said, state = resume(journal)
    assert state.steps["patch"].status is StepStatus.UNDO_FAILED and state.result is RunResult.FAILED
    assert "warroom undo patch" in said, said
    assert cli("undo", "patch", "--reason", "run the undo again", "--journal", str(journal)).returncode == 0
    code, said, state = resume(journal)
    assert (tmp_path / "ledger").read_text().split() == ["patched", "unpatched"]
    assert state.steps["patch"].status is StepStatus.UNDONE


def test_an_undo_done_by_hand_is_marked_done(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, """\
        runbook: undo-by-hand
        on_failure: fail-fast
        steps:
          - {id: patch, run: 'true', undo: 'exit 4'}
          - {id: boom, needs: [patch], run: 'exit 1'}
        """)
    journal = tmp_path / "j.db"
    res = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert res.returncode == 1 and journal_state(journal).steps["patch"].status is StepStatus.UNDO_FAILED
    assert cli("done", "patch", "--reason", "reverted by hand", "--journal", str(journal)).returncode == 0
    assert journal_state(journal).steps["patch"].status is StepStatus.UNDONE
