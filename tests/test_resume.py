"""`warroom resume` after a SIGKILL of the runner at many moments: nothing that must not run
twice runs twice, people's answers and claims carry over, and the journal still verifies.

The incident and its ledger live in crash_support.py, shared with the crash sweep benchmark.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_support import Incident, assert_carried_over, carry_to_end, events_in, kill_moments
from engine_support import (
    LONG_RUNBOOK, ROOT, cli, drive, journal_events, journal_state, runbook as runbook_at, start_long_run, wait_until,
    write_runbook,
)

from warroom.engine.clock import VirtualClock
from warroom.engine.drill import load_injects
from warroom.engine.loop import Engine
from warroom.journal.events import ENGINE, EventType, NewEvent
from warroom.journal.state import RunResult, StepStatus
from warroom.journal.store import JournalWriter


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """Rows a runner journals without a kill: up to the first stop for people, and after it."""
    inc = Incident.create(tmp_path_factory.mktemp("clean"))
    assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    first = events_in(inc.journal)
    inc.answer(journal_state(inc.journal))
    before = events_in(inc.journal)
    assert inc.runner("resume") == 0
    assert_carried_over(inc)
    return first, events_in(inc.journal) - before


MOMENTS = kill_moments(12)


@pytest.mark.parametrize("first, second, power_cut", MOMENTS, ids=[
    f"{a:.2f}-{'none' if b is None else f'{b:.2f}'}{'-power-cut' if cut else ''}" for a, b, cut in MOMENTS])
def test_resume_after_sigkill_runs_nothing_twice(tmp_path: Path, clean_run: tuple[int, int], first: float,
                                                  second: float | None, power_cut: bool) -> None:
    rows_first, rows_second = clean_run
    inc = Incident.create(tmp_path)
    first_kill = round(first * rows_first)
    second_kill = None if second is None else round(second * rows_second)
    carry_to_end(inc, first_kill, second_kill, power_cut, random.Random(f"{first}:{second}"))
    assert_carried_over(inc)


# one runner per journal, and resume's other refusals ------------------------------------------
def test_a_second_runner_or_operator_on_a_live_journal_is_refused(tmp_path: Path) -> None:
    live, journal = start_long_run(tmp_path)
    try:
        for args in (("run", str(tmp_path / "rb.yaml"), "--headless"), ("resume", "--headless"),
                     ("note", "who is on the bridge?"), ("skip", "soak", "--reason", "taking over")):
            res = cli(*args, "--journal", str(journal))
            assert res.returncode == 1, (args, res.stderr)
            assert f"in use by process {live.pid}" in res.stderr, res.stderr
            assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    finally:
        live.send_signal(signal.SIGTERM)
        live.communicate(timeout=15)
    state = journal_state(journal)
    assert state.notes == [] and state.result is RunResult.INTERRUPTED


def test_resume_uses_the_journaled_runbook_and_says_what_changed(tmp_path: Path) -> None:
    inc = Incident.create(tmp_path)
    assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    inc.answer(journal_state(inc.journal))
    text = inc.runbook.read_text()
    inc.runbook.write_text(text.replace("echo finish >>", "echo CHANGED >>")
                           + "  - id: extra\n    run: echo extra >> /dev/null\n")
    assert inc.runner("resume") == 0
    assert "the runbook changed since" in inc.stderr[-1] and "added extra" in inc.stderr[-1]
    assert "changed finish" in inc.stderr[-1] and "journaled copy" in inc.stderr[-1]
    assert inc.ledger_lines()["finish"] == 1 and not inc.ledger_lines()["CHANGED"]
    resumed = [e for e in journal_events(inc.journal) if e.type == "run.resumed"]
    assert resumed[-1].data["runbook_changed"] is True and "extra" not in journal_state(inc.journal).steps


@pytest.mark.parametrize("setup, args, message", [
    ("incident", ("resume", "nope-1", "--headless"), "no incident 'nope-1'"),
    ("text", ("resume", "--headless"), "not a warroom journal"),
    ("missing", ("resume", "--headless"), "no journal here"),
    ("incident", ("retry", "ghost", "--reason", "x"), "no step 'ghost'"),
])
def test_resume_of_what_is_not_there_is_one_clear_line(tmp_path: Path, setup: str, args: tuple[str, ...],
                                                       message: str) -> None:
    journal = tmp_path / "j.db"
    if setup == "incident":
        inc = Incident.create(tmp_path)
        journal = inc.journal
        assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    elif setup == "text":
        journal.write_text("not a database, just notes\n" * 20)
    res = cli(*args, "--journal", str(journal))
    assert res.returncode == 1
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


async def test_an_idempotent_step_left_in_doubt_by_a_killed_resume_still_reruns(tmp_path: Path) -> None:
    live, journal = start_long_run(tmp_path)
    live.send_signal(signal.SIGKILL)
    live.communicate(timeout=10)
    os.killpg(int((tmp_path / "pgid").read_text()), signal.SIGKILL)
    state = journal_state(journal)
    assert state.steps["soak"].status is StepStatus.RUNNING
    async with await JournalWriter.open(journal) as writer:  # what the killed resume committed first
        await writer.resume_incident(state.incident)
        mono = state.last_mono or 0.0
        await writer.append([
            NewEvent(EventType.RUN_RESUMED, "ops", time.time(), mono, None, {"runbook_changed": False, "diff": ""}),
            NewEvent(EventType.STEP_IN_DOUBT, ENGINE, time.time(), mono, "soak", {"attempt": 1}),
        ])
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    assert journal_state(journal).steps["soak"].status is StepStatus.SUCCEEDED


def test_run_on_the_empty_journal_a_run_killed_at_birth_left(tmp_path: Path) -> None:
    """`warroom run` killed between creating its journal file and writing the schema leaves an
    empty file (and its lock file); running again on that journal must work."""
    rb = write_runbook(tmp_path, LONG_RUNBOOK.format(dir=tmp_path))
    (tmp_path / "marker").touch()  # the step ends at once
    journal = tmp_path / "j.db"
    journal.touch(mode=0o600)
    Path(f"{journal}.lock").touch(mode=0o600)
    res = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr


def test_a_resumed_drill_keeps_its_speed(tmp_path: Path) -> None:
    """A facilitator's drill at --speed 20 goes on at 20 after a resume: its 40 s wait still
    takes 2 real seconds, not none."""
    rb = write_runbook(tmp_path, """\
        runbook: paced
        steps:
          - id: brief
            manual: Brief the team.
          - id: settle
            needs: [brief]
            wait: 40s
        """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--drill", "--speed", "20", "--journal", str(journal)).returncode == 3
    assert cli("done", "brief", "--journal", str(journal)).returncode == 0
    began = time.monotonic()
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - began >= 2.0


ROLLBACK_RUNBOOK = """\
    runbook: rollback
    on_failure: fail-fast
    vars: {{dir: "{dir}"}}
    steps:
      - id: drain
        run: echo drain >> {{{{ vars.dir }}}}/ledger
        undo: echo undo-drain >> {{{{ vars.dir }}}}/ledger
      - id: migrate
        run: echo migrate >> {{{{ vars.dir }}}}/ledger
        undo: echo $$ > {{{{ vars.dir }}}}/undo-pgid; sleep 30; echo undo-migrate >> {{{{ vars.dir }}}}/ledger
      - id: verify
        needs: [drain, migrate]  # both done first, however slow the machine: both are undone
        run: exit 1
"""


def test_a_rollback_cut_short_by_a_crash_goes_on_at_resume(tmp_path: Path) -> None:
    """Killed while undoing `migrate`: resume reports that undo in doubt (it may have half
    run) and still undoes `drain`, so the commander is not left with a half-rolled-back system."""
    rb = write_runbook(tmp_path, ROLLBACK_RUNBOOK.format(dir=tmp_path))
    journal = tmp_path / "j.db"
    live = subprocess.Popen(
        [sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pgid = tmp_path / "undo-pgid"
    wait_until(lambda: pgid.exists() and pgid.read_text().strip() != "", "the undo of migrate to start")
    live.send_signal(signal.SIGKILL)
    live.communicate(timeout=10)
    os.killpg(int(pgid.read_text()), signal.SIGKILL)
    assert (tmp_path / "ledger").read_text().split() == ["drain", "migrate"]

    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 1, res.stderr
    assert (tmp_path / "ledger").read_text().split() == ["drain", "migrate", "undo-drain"]
    state = journal_state(journal)
    assert state.steps["migrate"].status is StepStatus.UNDO_FAILED
    assert state.steps["drain"].status is StepStatus.UNDONE
    assert state.result is RunResult.FAILED
    assert cli("verify", "--journal", str(journal)).returncode == 0


async def test_a_drill_resumed_after_an_interruption_still_fires_its_injects(tmp_path: Path) -> None:
    """The facilitator's --inject schedule is journaled with the run, so the vendor's call
    at 1h still comes after a SIGTERM at the start and a resume (the file is not needed)."""
    rb = runbook_at(tmp_path, """\
        runbook: soak
        steps:
          - id: soak
            wait: 2h
    """)
    schedule = tmp_path / "injects.yaml"
    schedule.write_text("- {at: 1h, note: the vendor calls back}\n- {at: 90m, slow: {step: soak, by: 1m}}\n")
    injects = tuple(load_injects(schedule, rb))
    schedule.unlink()

    async def interrupt_once_soak_starts(engine: Engine) -> None:
        engine.listeners.append(lambda ev: engine.request_interrupt("SIGTERM") if ev.type == "step.started" else None)

    paced = VirtualClock(speed=60, start_wall=1_700_000_000.0)  # commits before it waits, so the listener hears
    first = await drive(tmp_path / "j.db", rb, drill=True, injects=injects, clock=paced, during=interrupt_once_soak_starts)
    assert first.state.result is RunResult.INTERRUPTED and first.state.injects == []

    res = cli("resume", "--headless", "--journal", str(tmp_path / "j.db"))
    assert res.returncode == 0, res.stderr
    state = journal_state(tmp_path / "j.db")
    assert [(i["kind"], i["at_s"]) for i in state.injects] == [("note", 3600.0), ("slow", 5400.0)]
    assert [n.text for n in state.notes] == ["the vendor calls back"]
    assert state.result is RunResult.SUCCEEDED


def test_an_approval_timeout_keeps_running_while_the_runner_is_down(tmp_path: Path) -> None:
    """A real run stops for a person; nobody answers within the approval's timeout, so the
    resume a while later rejects it at once rather than granting it a fresh timeout."""
    rb = write_runbook(tmp_path, """\
        runbook: gated
        roles: {carol: commander}
        steps:
          - {id: gate, approval: Go?, timeout: 1s, on_timeout: reject}
          - {id: after, run: 'true', needs: [gate]}
    """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--journal", str(journal)).returncode == 3
    asked = journal_state(journal).approvals["gate"].requested_at
    assert asked is not None
    wait_until(lambda: time.time() > asked + 1.2, "the approval's timeout to pass", timeout=5)
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 1, res.stderr
    state = journal_state(journal)
    assert state.approvals["gate"].decision == "rejected"
    rejected = next(e for e in journal_events(journal) if e.type == "approval.rejected")
    assert rejected.ts - asked >= 1.0 and rejected.mono >= 1.0
