"""Operator commands checked against the state, headless runs that stop for people and go on
with the printed commands, --auto, drills that repeat, injects, and every shipped runbook."""

from __future__ import annotations

import asyncio
import re
import shlex
from pathlib import Path

import pytest

from engine_support import ROOT, carry_to_end, cli, drive, journal_events, journal_state, runbook, until, write_runbook
from warroom.engine.clock import RealClock
from warroom.engine.commands import Action, OperatorCommand, Refused, check
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, Outcome
from warroom.journal.state import RunResult, StepStatus
from warroom.journal.store import JournalReader, JournalWriter

PEOPLE = """
runbook: people
roles: {carol: commander, dave: commander}
steps:
  - {id: look, manual: Look at the graphs}
  - {id: gate, approval: Fail over?, four_eyes: true, needs: [look]}
  - {id: act, run: 'true', needs: [gate]}
"""


async def test_commands_are_checked_against_the_state_and_refused_with_a_reason(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, PEOPLE), actor="carol")
    state = run.state

    def refused(action: Action, target: str, actor: str = "dave", reason: str = "") -> str:
        with pytest.raises(Refused) as caught:
            check(state, OperatorCommand(action, target, actor, reason))
        return str(caught.value)

    assert "not waiting" in refused(Action.APPROVE, "gate")
    assert "manual step, not an approval" in refused(Action.APPROVE, "look")
    assert "only a failed, in-doubt" in refused(Action.RETRY, "act", reason="why")
    assert "has no undo" in refused(Action.UNDO, "act", reason="why")
    assert "not claimed" in refused(Action.RELEASE, "db")
    assert "a note needs text" in refused(Action.NOTE, " ")
    assert "give a reason" in refused(Action.SKIP, "act")
    check(state, OperatorCommand(Action.DONE, "look", "dave"))  # a person's own step: no reason needed
    check(state, OperatorCommand(Action.SKIP, "act", "dave", "not needed"))


async def test_four_eyes_refuses_the_starter_and_roles_limit_approvers(tmp_path: Path) -> None:
    from engine_support import status_is, until

    answers: list[str] = []

    async def act(engine) -> None:
        await engine.submit(OperatorCommand(Action.DONE, "look", "carol"))
        await until(engine, status_is("gate", StepStatus.WAITING))
        for actor in ("carol", "eve"):
            with pytest.raises(Refused) as caught:
                await engine.submit(OperatorCommand(Action.APPROVE, "gate", actor))
            answers.append(str(caught.value))
        await engine.submit(OperatorCommand(Action.APPROVE, "gate", "dave", "replica is fresh"))

    run = await drive(tmp_path / "j.db", runbook(tmp_path, PEOPLE), actor="carol", stop_when_waiting=False, during=act)
    assert "four eyes: carol started the run" in answers[0]
    assert "eve may not answer gate; ask carol, dave" in answers[1]
    granted = run.of("approval.granted", "gate")
    assert [(e.actor, e.data["reason"]) for e in granted] == [("dave", "replica is fresh")]
    assert run.first("operator.override", "look").actor == "carol"
    assert run.state.result is RunResult.SUCCEEDED


async def test_override_commands_are_journaled_with_actor_and_reason(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: ov
        on_failure: continue
        steps:
          - {id: bad, run: 'exit 1'}
          - {id: after, run: 'true', needs: [bad]}
          - {id: hold, manual: Keep the run open while the commander decides}
    """)

    async def skip(engine) -> None:
        from engine_support import status_is, until

        await until(engine, status_is("after", StepStatus.BLOCKED))
        with pytest.raises(Refused, match="give a reason"):
            await engine.submit(OperatorCommand(Action.SKIP, "bad", "carol"))
        await engine.submit(OperatorCommand(Action.NOTE, "bad was a known flake", "carol"))
        await engine.submit(OperatorCommand(Action.SKIP, "bad", "carol", "known flake"))
        await until(engine, status_is("after", StepStatus.SUCCEEDED))
        await engine.submit(OperatorCommand(Action.DONE, "hold", "carol"))

    run = await drive(tmp_path / "j.db", rb, stop_when_waiting=False, during=skip)
    override = run.first("operator.override", "bad")
    assert (override.actor, override.data) == ("carol", {"action": "skip", "reason": "known flake"})
    assert len(run.of("operator.override", "bad")) == 1  # the refused skip left no trace
    assert run.first("note.added").data["text"] == "bad was a known flake"
    assert run.status("after") is StepStatus.SUCCEEDED  # a person's skip counts as met


def test_headless_stops_for_people_and_the_printed_commands_finish_it(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, PEOPLE)
    db = str(tmp_path / "j.db")
    result = cli("run", str(rb), "--headless", "--as", "carol", "--journal", db)
    for _ in range(3):
        if result.returncode != 3:
            break
        commands = re.findall(r"(warroom (?:done|approve) [^|\n]+?)\s*(?:\||$)", result.stderr, re.M)
        assert commands, result.stderr
        for command in commands:
            words = shlex.split(command)[1:]
            done = cli(*words, "--journal", db)
            assert done.returncode == 0, done.stderr
        assert f"warroom resume {journal_state(Path(db)).incident} --headless" in result.stderr
        result = cli("resume", "--headless", "--journal", db)
    assert result.returncode == 0, result.stdout + result.stderr
    assert journal_state(Path(db)).result is RunResult.SUCCEEDED


def test_refused_shell_command_exits_1_and_journals_nothing(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, PEOPLE)
    db = str(tmp_path / "j.db")
    assert cli("run", str(rb), "--headless", "--as", "carol", "--journal", db).returncode == 3
    before = len(journal_events(Path(db)))
    refused = cli("approve", "gate", "--as", "carol", "--journal", db)
    assert refused.returncode == 1
    assert "refused:" in refused.stderr and "Traceback" not in refused.stderr
    assert len(journal_events(Path(db))) == before


def test_same_seed_same_events_and_a_bad_inject_file_gets_one_message(tmp_path: Path) -> None:
    rb = write_runbook(tmp_path, (ROOT / "runbooks" / "web-outage.yaml").read_text())
    injects = tmp_path / "injects.yaml"
    injects.write_text("- {at: 1m, note: customer report from ACME}\n- {at: 30s, slow: {step: purge-cdn, by: 2m}}\n"
                       "- {at: 10s, fail: post-status}\n- {at: 20s, claim: {resource: cdn-config, by: erin, for: 1m}}\n")

    def drill(seed: int, db: str) -> list[tuple]:
        out = cli("run", str(rb), "--headless", "--drill", "--speed", "max", "--auto", "--seed", str(seed),
                  "--inject", str(injects), "--journal", str(tmp_path / db))
        assert out.returncode in (0, 1), out.stderr
        return [(e.type, e.step, e.mono, {k: v for k, v in e.data.items() if k != "runbook"})
                for e in journal_events(tmp_path / db)]

    first, again = drill(7, "a.db"), drill(7, "b.db")
    assert first == again
    assert drill(8, "c.db") != first
    kinds = [d["kind"] for t, _, _, d in first if t == "drill.inject"]
    assert sorted(kinds) == ["claim", "fail", "note", "slow"]
    assert any(t == "note.added" and d["text"] == "customer report from ACME" for t, _, _, d in first)
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {at: 1m, fail: post-status}\n- {at: 2m, fail: no-such-step}\n")
    out = cli("run", str(rb), "--headless", "--drill", "--inject", str(bad), "--journal", str(tmp_path / "d.db"))
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"{bad}:2:" in out.stderr and "no-such-step" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("path", sorted((ROOT / "runbooks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_runbook_drills_to_a_final_result(tmp_path: Path, path: Path) -> None:
    db = str(tmp_path / "j.db")
    state = carry_to_end(Path(db), ["run", str(path), "--headless", "--drill", "--speed", "max", "--auto", "--journal", db])
    assert state.result in (RunResult.SUCCEEDED, RunResult.FAILED, RunResult.ROLLED_BACK)
    assert cli("verify", "--journal", db).returncode == 0


async def test_a_command_sent_after_the_run_stopped_is_refused_not_left_hanging(tmp_path: Path) -> None:
    import asyncio

    run = await drive(tmp_path / "j.db", runbook(tmp_path, PEOPLE), actor="carol")
    with pytest.raises(Refused, match="has stopped"):
        await asyncio.wait_for(run.engine.submit(OperatorCommand(Action.NOTE, "late", "carol")), 2)


async def test_a_console_run_that_failed_reopens_on_retry_and_leaves_without_interrupting(tmp_path: Path) -> None:
    """The console lingers after the end: a retry of the failed step reopens the run
    (run.resumed), it finishes succeeded, and leaving then journals no interruption."""
    flag = tmp_path / "fixed"
    rb = runbook(tmp_path, f"""
        on_failure: continue
        steps:
          - {{id: flaky, run: "test -e {flag}"}}
          - {{id: after, run: "true", needs: [flaky]}}
        """)
    writer = await JournalWriter.open(tmp_path / "j.db")
    try:
        engine = Engine(writer, rb, RunOptions(actor="alice", linger=True), RealClock())
        await engine.start([])
        task = asyncio.create_task(engine.run())
        await until(engine, lambda st: st.result is RunResult.FAILED)
        flag.write_text("")
        await engine.submit(OperatorCommand(Action.RETRY, "flaky", "alice", "fixed the flag"))
        await until(engine, lambda st: st.result is RunResult.SUCCEEDED)
        assert not task.done()
        engine.request_interrupt("quit")
        assert await task is Outcome.FINISHED
    finally:
        await writer.close()
    types = [e.type for e in JournalReader(tmp_path / "j.db").events(engine.state.incident)]
    assert types.count("run.finished") == 2 and "run.resumed" in types and "run.interrupted" not in types
    assert engine.state.steps["after"].status is StepStatus.SUCCEEDED


async def test_abort_cancels_what_runs_and_ends_the_incident_for_good(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        steps:
          - {id: long, run: "sleep 30"}
          - {id: later, run: "true", needs: [long]}
        """)
    writer = await JournalWriter.open(tmp_path / "j.db")
    try:
        engine = Engine(writer, rb, RunOptions(actor="alice"), RealClock())
        await engine.start([])
        task = asyncio.create_task(engine.run())
        await until(engine, lambda st: st.steps["long"].status is StepStatus.RUNNING)
        await engine.submit(OperatorCommand(Action.ABORT, "", "alice", "wrong runbook"))
        assert await asyncio.wait_for(task, 10) is Outcome.FINISHED
    finally:
        await writer.close()
    state = engine.state
    assert state.result is RunResult.ABORTED
    assert {sid: s.status for sid, s in state.steps.items()} == {"long": StepStatus.CANCELLED, "later": StepStatus.CANCELLED}
    with pytest.raises(Refused, match="has ended"):
        check(state, OperatorCommand(Action.RETRY, "long", "alice", "again"))
