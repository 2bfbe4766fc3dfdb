"""Locks, people's claims and step outputs: who waits on what, and what reaches later steps."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from engine_support import drive, runbook, status_is, until
from warroom.engine.clock import VirtualClock
from warroom.engine.commands import Action, OperatorCommand, Refused
from warroom.engine.drill import Inject, InjectKind
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, Outcome
from warroom.journal.store import JournalWriter
from warroom.journal.state import RunResult, StepStatus


def spans(run, step: str) -> tuple[float, float]:
    return run.first("step.started", step).mono, run.first("step.succeeded", step).mono


async def test_exclusive_locks_serialize_and_shared_locks_overlap(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: locks
        steps:
          - {id: x1, run: 'true', locks: [db], drill: {duration: [1m, 1m]}}
          - {id: x2, run: 'true', locks: [db], drill: {duration: [1m, 1m]}}
          - {id: r1, run: 'true', locks: ["cache:shared"], drill: {duration: [1m, 1m]}}
          - {id: r2, run: 'true', locks: ["cache:shared"], drill: {duration: [1m, 1m]}}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    assert spans(run, "x1") == (0, 60) and spans(run, "x2") == (60, 120)
    assert spans(run, "r1") == (0, 60) and spans(run, "r2") == (0, 60)
    waiting = run.first("step.waiting", "x2")
    assert (waiting.data["on"], waiting.data["holders"]) == ("lock", ["x1"])


async def test_locks_are_taken_all_at_once_so_crossed_orders_do_not_deadlock(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: cross
        steps:
          - {id: ab, run: 'sleep 0.1', locks: [a, b]}
          - {id: ba, run: 'sleep 0.1', locks: [b, a]}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.state.result is RunResult.SUCCEEDED
    assert run.first("step.started", "ba").seq > run.first("step.succeeded", "ab").seq
    assert run.first("lock.acquired", "ab").data["locks"] == ["a", "b"]


async def test_a_claim_holds_a_step_until_released_and_names_the_holder(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: claims
        steps:
          - {id: first, run: 'sleep 0.1'}
          - {id: migrate, run: 'true', locks: [db], needs: [first]}
    """)

    async def claim_then_release(engine) -> None:
        await engine.submit(OperatorCommand(Action.CLAIM, "db", "bob", "vacuum running"))
        await until(engine, status_is("migrate", StepStatus.WAITING))
        assert engine.state.steps["migrate"].waiting_on.holders == ("bob",)
        await engine.submit(OperatorCommand(Action.RELEASE, "db", "bob", "vacuum done"))

    run = await drive(tmp_path / "j.db", rb, stop_when_waiting=False, during=claim_then_release)
    waiting = run.first("step.waiting", "migrate")
    assert (waiting.data["on"], waiting.data["holders"]) == ("claim", ["bob"])
    assert run.first("step.started", "migrate").seq > run.first("claim.released").seq
    assert run.state.result is RunResult.SUCCEEDED


async def test_an_injected_claim_holds_a_step_for_its_virtual_duration(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: claims
        steps:
          - {id: first, run: 'true', drill: {duration: [1m, 1m]}}
          - {id: migrate, run: 'true', locks: [db], needs: [first], drill: {duration: [1m, 1m]}}
    """)
    claim = Inject(30, InjectKind.CLAIM, resource="db", by="bob", for_s=120)
    run = await drive(tmp_path / "j.db", rb, drill=True, injects=(claim,))
    assert run.first("drill.inject").data["kind"] == "claim"
    assert run.first("claim.made").mono == 30
    assert run.first("step.waiting", "migrate").data["holders"] == ["bob"]
    assert run.first("step.started", "migrate").mono == 150


async def test_outputs_reach_later_steps_through_templates_and_when(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    rb = runbook(tmp_path, f"""
        runbook: outs
        steps:
          - id: probe
            run: 'echo "pid=4242"; echo ok'
            outputs: {{pid: {{regex: 'pid=(\\d+)'}}}}
          - id: status
            run: 'echo ''{{"svc": {{"state": "degraded"}}}}'''
            outputs: {{state: {{json: svc.state}}}}
          - id: use
            needs: [probe, status]
            when: steps.status.outputs.state == "degraded"
            run: echo {{{{ steps.probe.outputs.pid }}}}-{{{{ steps.status.outputs.state }}}} > {seen}
          - id: never
            needs: [status]
            when: steps.status.outputs.state == "healthy"
            run: touch {tmp_path}/never
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.state.steps["probe"].outputs == {"pid": "4242"}
    assert run.state.steps["status"].outputs == {"state": "degraded"}
    assert seen.read_text().strip() == "4242-degraded"
    assert run.status("never") is StepStatus.SKIPPED
    assert not (tmp_path / "never").exists()


async def test_hostile_outputs_pass_to_the_next_step_as_plain_data(tmp_path: Path) -> None:
    received = tmp_path / "received"
    hostile = ["$(touch pwn1)", "`touch pwn2`", "; touch pwn3; rm -rf x", "'; touch pwn4; '"]
    lines = "; ".join(f"printf '%s\\n' {_sh_quote('v' + str(i) + '=' + h)}" for i, h in enumerate(hostile))
    outputs = ", ".join(f"v{i}: {{regex: '^v{i}=(.*)$'}}" for i in range(len(hostile)))
    uses = " ".join(f"{{{{ steps.evil.outputs.v{i} }}}}" for i in range(len(hostile)))
    next_run = f"cd {tmp_path} && printf '%s\\n' {uses} > {received}"
    rb = runbook(tmp_path, f"""
        runbook: hostile
        steps:
          - id: evil
            run: {_yaml_quote(lines)}
            outputs: {{{outputs}}}
          - id: next
            needs: [evil]
            run: {_yaml_quote(next_run)}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.state.result is RunResult.SUCCEEDED
    assert received.read_text().splitlines() == hostile
    assert not list(tmp_path.glob("pwn*"))


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _yaml_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def test_a_facilitator_injects_from_the_console_api(tmp_path: Path) -> None:
    """Issue 6: injects from the console are journaled as drill.inject with the facilitator's
    name and take effect (a failed next attempt, a note); a real run refuses them."""
    rb = runbook(tmp_path, """
        on_failure: continue
        steps:
          - {id: gate, manual: "press on"}
          - {id: work, run: "true", needs: [gate], estimate: 1m}
        """)
    writer = await JournalWriter.open(tmp_path / "j.db")
    try:
        engine = Engine(writer, rb, RunOptions(actor="fac", drill=True, speed=None), VirtualClock(speed=None))
        await engine.start([])
        task = asyncio.create_task(engine.run())
        await asyncio.sleep(0.05)
        await engine.inject(Inject(0.0, InjectKind.FAIL, step="work"), "fac")
        await engine.inject(Inject(0.0, InjectKind.NOTE, text="pager storm"), "fac")
        await engine.submit(OperatorCommand(Action.DONE, "gate", "fac"))
        assert await task is Outcome.FINISHED
    finally:
        await writer.close()
    state = engine.state
    assert [(i["actor"], i["kind"]) for i in state.injects] == [("fac", "fail"), ("fac", "note")]
    assert state.notes[-1].text == "pager storm" and state.notes[-1].actor == "fac"
    assert state.steps["work"].status.value == "failed"

    real = await JournalWriter.open(tmp_path / "real.db")
    try:
        engine = Engine(real, rb, RunOptions(actor="fac", stop_when_waiting=True), VirtualClock(speed=None))
        await engine.start([])
        with pytest.raises(Refused, match="injects are for drills"):
            await engine.inject(Inject(0.0, InjectKind.NOTE, text="x"), "fac")
    finally:
        await real.close()
