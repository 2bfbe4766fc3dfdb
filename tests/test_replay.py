"""Replay shows what the live run showed: the same reducer over the same rows, at every seq."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

from warroom.engine.clock import VirtualClock
from warroom.engine.drill import load_injects
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, Outcome
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState, RunResult
from warroom.journal.store import JournalReader, JournalWriter
from warroom.runbook.loader import load_runbook

ROOT = Path(__file__).resolve().parent.parent


async def test_replayed_state_equals_the_live_state_at_every_seq(tmp_path: Path) -> None:
    runbook = load_runbook(ROOT / "runbooks" / "database-disk-full.yaml")
    injects = tmp_path / "injects.yaml"
    injects.write_text("- {at: 1m, note: customer reports}\n- {at: 2m, claim: {resource: db-primary, by: dba, for: 4m}}\n")
    options = RunOptions(actor="alice", drill=True, seed=3, speed=None, auto=True, stop_when_waiting=True,
                         injects=tuple(load_injects(injects, runbook)))
    journal = tmp_path / "j.db"
    live: dict[int, IncidentState] = {}

    class Recording(Reducer):
        """The engine's own fold, copied after every event it folds."""

        def apply(self, event):  # type: ignore[no-untyped-def]
            state = super().apply(event)
            live[state.last_seq] = copy.deepcopy(state)
            return state

        def apply_rows(self, rows):  # type: ignore[no-untyped-def]
            for row in rows:
                state = super().apply_rows([row])
                live[state.last_seq] = copy.deepcopy(state)
            return self.state

    writer = await JournalWriter.open(journal)
    try:
        engine = Engine(writer, runbook, options, VirtualClock(speed=None, start_wall=1_700_000_000.0))
        engine.ledger.reducer = Recording()
        incident = await engine.start([])
        assert await engine.run() is Outcome.FINISHED
    finally:
        await writer.close()
    assert engine.state.result in (RunResult.SUCCEEDED, RunResult.FAILED, RunResult.ROLLED_BACK)
    reducer = Reducer()
    seen = 0
    with JournalReader(journal) as reader:
        for row in reader.rows(incident):
            reducer.apply_rows([row])
            assert reducer.state == live[row[0]], f"replay differs from the live run at seq {row[0]}"
            seen += 1
    assert seen == len(live) > 50


def test_headless_replay_prints_the_timeline(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    run = [sys.executable, "-m", "warroom", "run", "runbooks/payment-service.yaml", "--headless", "--drill",
           "--speed", "max", "--auto", "--journal", str(journal)]
    live = subprocess.run(run, capture_output=True, text=True, cwd=ROOT)
    replay = subprocess.run([sys.executable, "-m", "warroom", "replay", "--headless", "--journal", str(journal)],
                            capture_output=True, text=True, cwd=ROOT)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout == live.stdout  # the shell transcript and the replay read alike
