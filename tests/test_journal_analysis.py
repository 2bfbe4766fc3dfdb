"""The review questions, the after-action figures, --compare and --runbook, on incidents whose
answers were worked out by hand from the scripted events."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from journal_support import T0, ev, write_web_incident

from warroom.journal import EventType as E
from warroom.journal import JournalWriter
from warroom.journal.analysis import after_action, conflicts, parallel_candidates, people_waits, runbook_summary, waits
from warroom.journal.store import JournalReader
from warroom.runbook.model import Mode, Runbook, Step, StepKind


async def test_waits_people_and_conflicts_of_the_web_incident(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    inc = await write_web_incident(db)
    state = JournalReader(db).state(inc)
    # approve: requested at 1, granted at 8 -> 7 s on a person; restart: lock wait 8 -> 12;
    # purge: failed at 5, retried at 10 -> 5 s waiting on a retry.
    assert waits(state) == {"lock": 4.0, "person": 7.0, "retry": 5.0}
    assert people_waits(state) == [{"step": "approve", "kind": "approval", "waited_s": 7.0, "answered_by": "carol"}]
    assert conflicts(state) == [{"step": "restart", "on": "lock", "resources": ["web-fleet"], "holders": ["deploy"], "waited_s": 4.0}]
    assert parallel_candidates(state) == []  # a parallel runbook: nothing waited on file order
    aa = after_action(state)
    # runs: probe 1-3, purge 3-5 and 10-14, restart 12-20, verify 22-25: 19 s busy of 26 s,
    # at most two at once (12-14).
    assert (aa["parallelism_avg"], aa["parallelism_peak"]) == (0.73, 2)
    assert (aa["approval_wait_s"], aa["lock_wait_s"], aa["rolled_back"]) == (7.0, 4.0, False)
    assert [d["what"] for d in aa["decisions"]] == ["claim made cdn", "granted approve", "claim released cdn"]
    assert aa["decisions"][1]["who"] == "carol" and aa["decisions"][1]["reason"] == "probe is red"


async def write_linear(path: Path) -> str:
    runbook = Runbook(id="batch", title="batch", mode=Mode.LINEAR, steps=(
        Step("stop", StepKind.RUN, command="true"),
        Step("patch", StepKind.RUN, command="true"),
        Step("verify", StepKind.RUN, command="true", needs=("patch",)),
    ))
    async with await JournalWriter.open(path, flush_interval=None) as w:
        inc = await w.start_incident(runbook, actor="alice", ts=T0, mono=0.0)
        await w.append([
            ev(E.STEP_STARTED, 0, "stop", attempt=1), ev(E.STEP_SUCCEEDED, 10, "stop", attempt=1),
            ev(E.STEP_STARTED, 10, "patch", attempt=1), ev(E.STEP_SUCCEEDED, 30, "patch", attempt=1),
            ev(E.STEP_STARTED, 30, "verify", attempt=1), ev(E.STEP_SUCCEEDED, 35, "verify", attempt=1),
            ev(E.RUN_FINISHED, 35, result="succeeded"),
        ])
    return inc


async def test_linear_order_is_named_as_the_wait_parallelism_would_have_saved(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    inc = await write_linear(db)
    state = JournalReader(db).state(inc)
    # patch needs nothing it was written to need, yet started at 10 after stop; verify needs
    # patch, so its wait is no candidate.
    assert parallel_candidates(state) == [{"step": "patch", "waited_for": ["stop"], "delay_s": 10.0}]
    res = subprocess.run([sys.executable, "-m", "warroom", "report", "--journal", str(db)], capture_output=True, text=True)
    assert res.returncode == 0
    assert "patch waited 10s for stop, which it does not need (linear order)" in res.stdout
    # the counterfactual runs stop alongside patch: 20 s + 5 s instead of 35 s
    assert "parallel   25s" in res.stdout


async def test_compare_and_runbook_summary(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    first = await write_web_incident(db)
    second = await write_web_incident(db)
    res = subprocess.run([sys.executable, "-m", "warroom", "report", "--compare", first, second, "--journal", str(db)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert first in res.stdout and second in res.stdout and "lock waits" in res.stdout
    states = [JournalReader(db).state(i) for i in (first, second)]
    summary = runbook_summary("web-outage", states)
    assert summary["mttr_mean_s"] == summary["mttr_median_s"] == summary["mttr_p90_s"] == 26.0
    assert summary["steps_failing_most"] == [{"step": "purge", "incidents": 2}]
    assert summary["locks_waited_most"] == [{"lock": "web-fleet", "waited_s": 8.0}]
    text = subprocess.run([sys.executable, "-m", "warroom", "report", "--runbook", "web-outage", "--journal", str(db)], capture_output=True, text=True).stdout
    assert "MTTR mean 26s, median 26s, p90 26s" in text and "purge (2)" in text
    unknown = subprocess.run([sys.executable, "-m", "warroom", "report", "--runbook", "nope", "--journal", str(db)], capture_output=True, text=True)
    assert unknown.returncode == 1 and "no incident of runbook 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr
