"""When steps start: linear and parallel order, max_parallel, phases, needs, guards, branches,
waits, people's steps and until-polling, each proved from the journal a reviewer reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine_support import cli, drive, journal_state, runbook, write_runbook
from warroom.engine.loop import Outcome
from warroom.journal.state import RunResult, StepStatus


def started_order(run) -> list[str]:
    return [e.step for e in run.of("step.started")]


async def test_linear_runs_in_file_order_one_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "order"
    rb = runbook(tmp_path, f"""
        runbook: lin
        mode: linear
        steps:
          - {{id: c, run: echo c >> {out}}}
          - {{id: a, run: echo a >> {out}}}
          - {{id: b, run: echo b >> {out}}}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert out.read_text().split() == ["c", "a", "b"]
    assert started_order(run) == ["c", "a", "b"]
    assert run.max_running() == 1
    assert run.state.result is RunResult.SUCCEEDED


async def test_parallel_never_runs_more_than_max_parallel(tmp_path: Path) -> None:
    steps = "\n".join(f"  - {{id: s{i}, run: 'sleep 0.1', drill: {{duration: [1m, 1m]}}}}" for i in range(5))
    rb = runbook(tmp_path, "runbook: par\nmax_parallel: 2\nsteps:\n" + steps + "\n")
    run = await drive(tmp_path / "j.db", rb)
    assert run.max_running() == 2
    assert run.state.result is RunResult.SUCCEEDED
    waits = [e for e in run.of("step.waiting") if e.data["on"] == "slot"]
    assert {e.step for e in waits} == {"s2", "s3", "s4"}
    drill = await drive(tmp_path / "d.db", rb, drill=True)
    starts = sorted(e.mono for e in drill.of("step.started"))
    assert starts == [0, 0, 60, 60, 120]


async def test_uncapped_parallel_starts_all_ready_steps_together(tmp_path: Path) -> None:
    steps = "\n".join(f"  - {{id: s{i}, run: 'true', drill: {{duration: [1m, 1m]}}}}" for i in range(4))
    rb = runbook(tmp_path, "runbook: par\nsteps:\n" + steps + "\n")
    run = await drive(tmp_path / "j.db", rb, drill=True)
    assert run.max_running() == 4
    assert run.state.ended_mono == 60


PHASED = """
runbook: phased
phases:
  - id: one
    on_failure: {policy}
    steps:
      - {{id: a, run: 'true', drill: {{duration: [1m, 1m], fail: {fail}}}}}
      - {{id: b, run: 'true', drill: {{duration: [3m, 3m]}}}}
  - id: two
    steps:
      - {{id: c, run: 'true', drill: {{duration: [1m, 1m]}}}}
"""


async def test_a_phase_starts_only_when_the_one_before_ended(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, PHASED.format(policy="fail-fast", fail=0)), drill=True)
    assert run.first("step.started", "c").mono == 180
    finished = run.first("phase.finished")
    assert finished.data == {"phase": "one", "result": "succeeded"}
    assert run.first("phase.started").data["phase"] == "one"
    assert run.of("phase.started")[1].mono == 180
    assert run.state.result is RunResult.SUCCEEDED


async def test_a_failed_phase_under_continue_does_not_hold_back_later_phases(tmp_path: Path) -> None:
    """Issue 11, item 4: the run goes on, and the later phases say how it ended."""
    run = await drive(tmp_path / "j.db", runbook(tmp_path, PHASED.format(policy="continue", fail=1)), drill=True)
    assert run.status("a") is StepStatus.FAILED
    assert run.status("b") is StepStatus.SUCCEEDED  # independent: went on
    assert run.first("step.started", "c").mono == 180  # once phase one had ended
    assert run.state.phases == {"one": "failed", "two": "succeeded"}
    assert run.state.result is RunResult.SUCCEEDED


async def test_a_failed_continue_phase_that_is_the_last_fails_the_run(tmp_path: Path) -> None:
    run = await drive(tmp_path / "j.db", runbook(tmp_path, """
        runbook: last-continues
        phases:
          - id: one
            steps:
              - {id: a, run: 'true', drill: {duration: [1m, 1m]}}
          - id: two
            on_failure: continue
            steps:
              - {id: c, run: 'true', drill: {duration: [1m, 1m], fail: 1}}
        """), drill=True)
    assert run.state.phases == {"one": "succeeded", "two": "failed"}
    assert run.state.result is RunResult.FAILED


async def test_skipped_needs_count_as_met_but_all_skipped_needs_skip(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: skips
        vars: {region: us}
        steps:
          - {id: eu, run: 'true', when: vars.region == "eu"}
          - {id: any, run: 'true'}
          - {id: both, run: 'true', needs: [eu, any]}
          - {id: only-eu, run: 'true', needs: [eu]}
          - {id: after-only-eu, run: 'true', needs: [only-eu]}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert run.status("eu") is StepStatus.SKIPPED
    assert "when" in run.state.steps["eu"].last_reason
    assert run.status("both") is StepStatus.SUCCEEDED
    assert run.status("only-eu") is StepStatus.SKIPPED
    assert run.status("after-only-eu") is StepStatus.SKIPPED
    assert run.state.result is RunResult.SUCCEEDED


async def test_decide_skips_branches_not_taken_with_their_dependents(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: adapt
        steps:
          - id: probe
            check: echo lag=3
            outputs: {lag: {regex: 'lag=(\\d+)'}}
          - id: choose
            needs: [probe]
            decide:
              - {when: steps.probe.outputs.lag > 10, then: [slow]}
              - {else: [fast]}
          - {id: slow, run: 'true'}
          - {id: slow-after, run: 'true', needs: [slow]}
          - {id: fast, run: 'true'}
          - {id: fast-after, run: 'true', needs: [fast]}
    """)
    run = await drive(tmp_path / "j.db", rb)
    decision = run.first("decision.taken", "choose")
    assert decision.data["then"] == ["fast"] and decision.data["skipped"] == ["slow"]
    assert run.status("slow") is StepStatus.SKIPPED
    assert run.status("slow-after") is StepStatus.SKIPPED
    assert run.status("fast-after") is StepStatus.SUCCEEDED


async def test_wait_step_takes_its_duration(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: w
        steps:
          - {id: settle, wait: 2m}
          - {id: after, run: 'true', needs: [settle], drill: {duration: [10s, 10s]}}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    assert run.first("step.succeeded", "settle").mono == 120
    assert run.first("step.started", "after").mono == 120


async def test_until_polls_a_real_check_until_its_output_says_ready(tmp_path: Path) -> None:
    counter = tmp_path / "n"
    counter.write_text("0")
    rb = runbook(tmp_path, f"""
        runbook: poll
        steps:
          - id: ready
            check: n=$(( $(cat {counter}) + 1 )); echo $n > {counter}; echo count=$n
            outputs: {{count: {{regex: 'count=(\\d+)'}}}}
            until: steps.ready.outputs.count >= 3
            interval: 0.05s
            timeout: 10s
          - {{id: after, run: 'true', needs: [ready]}}
    """)
    run = await drive(tmp_path / "j.db", rb)
    assert counter.read_text().strip() == "3"
    assert run.state.steps["ready"].outputs == {"count": "3"}
    assert run.status("after") is StepStatus.SUCCEEDED
    assert len(run.of("step.started", "ready")) == 1  # one attempt, three polls


async def test_people_steps_wait_and_stop_a_headless_run(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: people
        roles: {alice: commander}
        steps:
          - {id: look, manual: Look at the graphs}
          - {id: ok, approval: Go on?, needs: [look]}
          - {id: page, escalate: dba-oncall}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True)
    assert run.outcome is Outcome.WAITING
    assert run.state.result is RunResult.WAITING
    assert run.state.steps["look"].waiting_on.on == "person"
    assert run.state.steps["page"].waiting_on.on == "person"
    assert run.first("escalation.raised", "page").data["to"] == "dba-oncall"
    assert run.status("ok") is StepStatus.PENDING


async def test_auto_answers_people_after_their_drill_duration(tmp_path: Path) -> None:
    rb = runbook(tmp_path, """
        runbook: people
        roles: {alice: commander}
        steps:
          - {id: look, manual: Look at the graphs, drill: {duration: [3m, 3m]}}
          - {id: ok, approval: Go on?, needs: [look], estimate: 1m}
    """)
    run = await drive(tmp_path / "j.db", rb, drill=True, auto=True)
    done = run.first("operator.override", "look")
    assert (done.actor, done.data["action"], done.mono) == ("auto", "done", 180)
    granted = run.first("approval.granted", "ok")
    assert (granted.actor, granted.mono) == ("auto", 240)
    assert run.state.result is RunResult.SUCCEEDED


async def test_a_finished_steps_timeout_does_not_move_drill_time_while_a_person_acts(tmp_path: Path) -> None:
    from engine_support import status_is, until
    from warroom.engine.commands import Action, OperatorCommand

    rb = runbook(tmp_path, """
        runbook: stale
        steps:
          - {id: quick, run: 'true', timeout: 10m, drill: {duration: [1m, 1m]}}
          - {id: look, manual: Look, needs: [quick]}
    """)

    async def mark_done(engine) -> None:
        await until(engine, status_is("look", StepStatus.WAITING))
        await engine.submit(OperatorCommand(Action.DONE, "look", "alice"))

    run = await drive(tmp_path / "j.db", rb, drill=True, stop_when_waiting=False, during=mark_done)
    answered = run.first("operator.override", "look").mono
    assert 60 <= answered < 61  # the person's few milliseconds, at 1x: not the stale 10m timeout
    assert run.state.ended_mono == answered


async def test_a_drill_waits_for_people_at_the_wall_clocks_rate_whatever_its_speed(tmp_path: Path) -> None:
    """Issue 11, item 5: at --speed max machine work jumps, but while a person is awaited and
    nothing else can move the clock runs at 1x, so a 15-minute approval does not time out
    before anyone has read it, and the wait is the time the person really took."""
    import asyncio
    import time

    from engine_support import status_is, until
    from warroom.engine.commands import Action, OperatorCommand

    rb = runbook(tmp_path, """
        runbook: paced
        deadline: 30m
        steps:
          - {id: prep, run: 'true', drill: {duration: [10m, 10m]}}
          - {id: gate, approval: 'go on?', timeout: 15m, on_timeout: escalate, needs: [prep]}
          - {id: act, run: 'true', needs: [gate], drill: {duration: [10m, 10m]}}
        """)
    thought = 0.3

    async def approve(engine) -> None:
        await until(engine, status_is("gate", StepStatus.WAITING))
        asked = time.monotonic()
        while time.monotonic() - asked < thought:  # the person reads the question
            await asyncio.sleep(0.05)
        await engine.submit(OperatorCommand(Action.APPROVE, "gate", "bob"))

    run = await drive(tmp_path / "j.db", rb, drill=True, stop_when_waiting=False, during=approve)
    assert run.first("approval.requested", "gate").mono == 600  # machine work at max
    granted = run.first("approval.granted", "gate").mono
    assert 600 + thought <= granted < 600 + 60  # the person's real time, not a 15-minute jump
    assert not run.of("escalation.raised") and not run.of("run.deadline_passed")
    assert run.first("step.succeeded", "act").mono - granted == pytest.approx(600, abs=0.01)  # at max again
    assert run.state.result is RunResult.SUCCEEDED
    from warroom.journal.analysis import after_action

    waited = after_action(run.state)["approval_wait_s"]  # the after-action's wait is what the person took
    assert thought <= waited < 60 and waited == pytest.approx(granted - 600, abs=0.01)
