"""SIGINT, SIGTERM and SIGHUP end a headless run cleanly: its step commands' process groups are
stopped (a shell's own children included), `run.interrupted` is journaled, the exit code says
which signal it was, and `warroom resume` carries the incident to its end."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from engine_support import cli, group_alive, journal_events, journal_state
from engine_support import start_long_run, wait_until

from warroom.journal.state import RunResult, StepStatus


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_stops_the_run_and_its_children_and_resume_finishes(tmp_path: Path, sig: signal.Signals) -> None:
    live, journal = start_long_run(tmp_path)
    pgid = int((tmp_path / "pgid").read_text())
    grandchild = int((tmp_path / "grandchild").read_text())
    assert group_alive(pgid) and grandchild != pgid
    sent = time.monotonic()
    live.send_signal(sig)
    _, err = live.communicate(timeout=10)
    assert time.monotonic() - sent < 10
    assert live.returncode == 128 + sig, err
    assert "Traceback" not in err and "warroom resume" in err, err
    wait_until(lambda: not group_alive(pgid), f"process group {pgid} (sh and its sleep 30) to go", timeout=5)
    last = journal_events(journal)[-1]
    assert (last.type, last.data["signal"]) == ("run.interrupted", sig.name)
    assert journal_state(journal).result is RunResult.INTERRUPTED

    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    state = journal_state(journal)
    assert state.result is RunResult.SUCCEEDED
    # the cut attempt is run again as itself: it never had a result
    assert (state.steps["soak"].status, state.steps["soak"].attempts) == (StepStatus.SUCCEEDED, 1)
