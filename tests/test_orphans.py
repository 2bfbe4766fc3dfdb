"""A step's processes are known by what they carry (issue 12.2): a child that leaves the
step's process group is stopped with the step, and a resume after a SIGKILL of the runner
never starts a second copy beside a step process that still runs; that step keeps its locks
and the commander decides once it is over.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from engine_support import ROOT, cli, journal_state, wait_until, write_runbook
from warroom.journal.errors import JournalError
from warroom.journal.state import RunResult, StepStatus


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"


def spawned_pid(journal: Path) -> int | None:
    """The journaled pid of the migrate step's attempt; None until the runner journaled it."""
    try:
        return journal_state(journal).steps["migrate"].pid
    except (JournalError, KeyError):
        return None


def test_a_step_knows_its_incident_step_and_attempt(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    rb = write_runbook(tmp_path, f"""\
        runbook: who
        steps:
          - id: tell
            run: echo "$WARROOM_INCIDENT $WARROOM_STEP $WARROOM_ATTEMPT" > {seen}
        """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--journal", str(journal)).returncode == 0
    assert seen.read_text().split() == [journal_state(journal).incident, "tell", "1"]


def test_a_process_that_left_the_group_is_stopped_with_the_step(tmp_path: Path) -> None:
    pid_file = tmp_path / "escaped.pid"
    rb = write_runbook(tmp_path, f"""\
        runbook: escape
        steps:
          - id: hang
            timeout: 1s
            run: setsid sleep 60 < /dev/null > /dev/null 2>&1 & echo $! > {pid_file}; exec sleep 60
        """)
    journal = tmp_path / "j.db"
    res = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert res.returncode == 1, res.stderr
    escaped = int(pid_file.read_text())
    try:
        wait_until(lambda: not alive(escaped), "the setsid'd sleep to be stopped", timeout=5)
    finally:
        if alive(escaped):
            os.kill(escaped, signal.SIGKILL)


def test_a_resume_never_runs_a_second_copy_beside_a_step_still_running(tmp_path: Path) -> None:
    ledger, go = tmp_path / "ledger", tmp_path / "go"
    rb = write_runbook(tmp_path, f"""\
        runbook: orphan
        steps:
          - id: migrate
            idempotent: true
            locks: [db]
            run: echo migrate-start >> {ledger}; while ! test -e {go}; do sleep 0.05; done; echo migrate-end >> {ledger}
          - id: vacuum
            locks: [db]
            run: echo vacuum >> {ledger}
        """)
    journal = tmp_path / "j.db"
    runner = subprocess.Popen([sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    wait_until(lambda: ledger.exists() and "migrate-start" in ledger.read_text(), "migrate to start")
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    try:
        res = cli("resume", "--headless", "--journal", str(journal))
        state = journal_state(journal)
        assert res.returncode == 3, res.stderr  # the commander decides
        assert ledger.read_text().split() == ["migrate-start"]  # no second copy; vacuum kept off db
        assert state.steps["migrate"].status is StepStatus.IN_DOUBT
        assert "migrate" in state.locks.get("db", [])
        assert any(e.step == "migrate" and "still running" in e.reason for e in state.escalations)
        assert "still running" in res.stdout + res.stderr
        again = cli("retry", "migrate", "--reason", "run it again", "--journal", str(journal))
        assert again.returncode == 1 and "never two copies" in again.stderr
    finally:
        go.touch()  # the orphan ends
    wait_until(lambda: "migrate-end" in ledger.read_text(), "the first copy to end")
    assert cli("done", "migrate", "--reason", "the first copy finished", "--journal", str(journal)).returncode == 0
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    assert ledger.read_text().split() == ["migrate-start", "migrate-end", "vacuum"]
    assert journal_state(journal).result is RunResult.SUCCEEDED


def test_a_step_process_that_scrubbed_its_environment_is_still_found_by_its_journaled_pid(tmp_path: Path) -> None:
    """`env -i` leaves nothing to find a process by but its pid: each attempt's pid and start
    time are journaled (step.spawned), so the resume still sees it running, and says so."""
    rb = write_runbook(tmp_path, """\
        runbook: scrubbed
        steps:
          - id: migrate
            idempotent: true
            run: exec env -i /bin/sleep 60
        """)
    journal = tmp_path / "j.db"
    runner = subprocess.Popen([sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    wait_until(lambda: spawned_pid(journal) is not None, "the spawn to be journaled", timeout=30)
    pid = spawned_pid(journal)
    assert pid is not None
    wait_until(lambda: Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"/bin/sleep"), "the exec")
    runner.send_signal(signal.SIGKILL)
    runner.wait(timeout=10)
    try:
        res = cli("resume", "--headless", "--journal", str(journal))
        assert res.returncode == 3, res.stderr
        assert f"pid {pid}" in res.stdout + res.stderr  # never a second copy; the operator is told the pid
        assert journal_state(journal).steps["migrate"].attempts == 1
    finally:
        os.kill(pid, signal.SIGKILL)
