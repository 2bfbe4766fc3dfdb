"""Interrupt anywhere: cut a run after its k-th journaled event, resume, and it ends as the
uninterrupted run did (statuses, attempts, outputs, result).

The cut is what a SIGKILL leaves: the journal's first k rows, nothing after, no
run.interrupted. Every run goes through the command line in-process (`warroom run
--headless`, the scripted person's `warroom approve|done`, `warroom resume --headless`), so
the resume path tested is the user's.
"""

from __future__ import annotations

import shutil
import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import pytest
from engine_support import carry_to_end

from warroom.journal.state import IncidentState

ROOT = Path(__file__).resolve().parent.parent


def final(state: IncidentState) -> dict[str, Any]:
    steps = {sid: (s.status.value, s.attempts, s.outputs) for sid, s in state.steps.items()}
    return {"result": state.result.value, "steps": steps}


def cut(src: Path, dst: Path, k: int) -> None:
    """The journal as a SIGKILL after its k-th row would leave it."""
    shutil.copy(src, dst)
    with sqlite3.connect(dst) as conn:
        (incident, first_seq), = conn.execute("SELECT id, first_seq FROM incidents").fetchall()
        last = first_seq + k - 1
        conn.execute("DELETE FROM events WHERE seq > ?", (last,))
        head, = conn.execute("SELECT hash FROM events WHERE seq = ?", (last,)).fetchone()
        conn.execute("UPDATE incidents SET last_seq = ?, head_hash = ?, events = ?", (last, head, k))


def rows(journal: Path) -> int:
    with sqlite3.connect(journal) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def cut_points(total: int, most: int) -> list[int]:
    """Every k from 1 when there are few; else `most` of them spread over the run."""
    if total <= most:
        return list(range(1, total))
    return sorted({1 + (i * (total - 2)) // (most - 1) for i in range(most)})


def check_interrupt_anywhere(tmp_path: Path, args: list[str], most: int) -> None:
    whole = tmp_path / "whole.db"
    expected = final(carry_to_end(whole, [*args, "--journal", str(whole)]))
    for k in cut_points(rows(whole), most):
        journal = tmp_path / f"cut-{k}.db"
        cut(whole, journal, k)
        got = final(carry_to_end(journal, ["resume", "--headless", "--journal", str(journal)]))
        differs = {sid: (got["steps"].get(sid), want) for sid, want in expected["steps"].items() if got["steps"].get(sid) != want}
        assert got == expected, f"cut after event {k}: {differs} result {got['result']} (want {expected['result']})"


BUNDLED = sorted(p.name for p in (ROOT / "runbooks").glob("*.yaml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_drill_ends_the_same_wherever_it_is_cut(tmp_path: Path, name: str) -> None:
    args = ["run", str(ROOT / "runbooks" / name), "--headless", "--drill", "--speed", "max", "--seed", "7",
            "--as", "alice", "--auto"]
    check_interrupt_anywhere(tmp_path, args, most=12)


def test_an_armed_fail_inject_survives_a_cut(tmp_path: Path) -> None:
    """The issue's case: `fail` aimed at a step not yet running is armed in the journal, so a
    resumed drill still fails that step's next attempt and rolls back as the whole run did."""
    injects = tmp_path / "injects.yaml"
    injects.write_text("- {at: 1s, fail: undrain-web}\n")
    args = ["run", str(ROOT / "runbooks" / "web-outage.yaml"), "--headless", "--drill", "--speed", "max",
            "--seed", "3", "--as", "alice", "--inject", str(injects)]
    check_interrupt_anywhere(tmp_path, args, most=40)


REAL = {
    "fail-fast-undo": """
        runbook: ffu
        mode: parallel
        steps:
          - {id: a, run: 'echo a=1', idempotent: true, undo: 'true', outputs: {a: {regex: 'a=(\\d+)'}}}
          - {id: b, run: 'exit 3', idempotent: true, needs: [a], retries: {count: 1, delay: 0s}, undo: 'true'}
          - {id: c, run: 'true', idempotent: true, needs: [b]}
    """,
    "continue-quorum-locks-timeout": """
        runbook: cql
        on_failure: quorum
        quorum: 2
        steps:
          - {id: a, run: 'true', idempotent: true, locks: [db]}
          - {id: b, run: 'true', idempotent: true, locks: [db]}
          - {id: slow, run: 'sleep 5', idempotent: true, timeout: 0.2s}
          - id: route
            decide:
              - {when: 'steps.a.status == "succeeded"', then: [fast]}
              - {else: [slowpath]}
            needs: [a]
          - {id: fast, run: 'echo fast', idempotent: true}
          - {id: slowpath, run: 'echo slow', idempotent: true}
    """,
    "slots": """
        runbook: slots
        max_parallel: 2
        steps:
          - {id: a, run: 'sleep 0.05', idempotent: true}
          - {id: b, run: 'sleep 0.05', idempotent: true}
          - {id: c, run: 'sleep 0.05', idempotent: true}
          - {id: d, run: 'sleep 0.05', idempotent: true}
          - {id: e, run: 'sleep 0.05', idempotent: true}
    """,
    "phases-and-people": """
        runbook: pp
        roles: {alice: commander, bob: commander}
        phases:
          - id: triage
            on_failure: continue
            steps:
              - {id: look, check: 'exit 1'}
              - {id: ask, approval: 'go on?', four_eyes: true}
          - id: fix
            steps:
              - {id: hands, manual: 'restart it by hand'}
              - {id: after, run: 'echo done', idempotent: true, needs: [hands]}
    """,
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_commands_end_the_same_wherever_the_run_is_cut(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(REAL[name]))
    check_interrupt_anywhere(tmp_path, ["run", str(path), "--headless", "--as", "alice"], most=60)
