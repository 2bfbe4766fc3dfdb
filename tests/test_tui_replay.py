"""The replay console: every key moves to a position whose panes show exactly the live run's
state after that many events (the one Reducer over the journal), back and forth alike; the
after-action report; and a facilitator's inject during a live drill."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from tui_snapshot_app import build_replay_app, console_app, recorded_journal, settle, type_text

from warroom.journal.events import Event
from warroom.journal.reducer import Reducer
from warroom.journal.report import render_report, report
from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.journal.store import JournalReader
from warroom.journal.timeline import what
from warroom.tui.app import WarroomApp
from warroom.tui.screens import ActionMenu, AskScreen, ReportScreen
from warroom.tui.session import SPEEDS, ReplaySession

SIZE = (100, 30)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[Event]]:
    journal, incident = recorded_journal(tmp_path_factory.mktemp("replay"))
    with JournalReader(journal) as reader:
        events = list(reader.events(incident))
    return journal, incident, events


def folded(events: list[Event], k: int) -> IncidentState:
    reducer = Reducer()
    for event in events[:k]:
        reducer.apply(event)
    return reducer.state


def header(app: WarroomApp) -> str:
    return str(app.query_one("#header").render())


def assert_shows(app: WarroomApp, events: list[Event], k: int) -> None:
    """The session stands on event k, its state is the fold of the first k events, the header
    says so and the log's newest line is event k's."""
    session = app.session
    assert isinstance(session, ReplaySession)
    assert session.position == k
    assert session.state == folded(events, k)
    assert f"event {k} of {len(events)}" in header(app)
    state = session.state
    newest = app.log_tail.kept[-1]
    assert (newest.step, newest.text) == (events[k - 1].step or "", what(events[k - 1]))


def first(events: list[Event], type_: str, after: int = 0) -> int:
    """The position (1-based) of the first event of `type_` after position `after`."""
    return next(i for i, e in enumerate(events, 1) if i > after and e.type == type_)


async def test_step_jump_and_ends_show_the_fold_of_the_first_k_events(recorded) -> None:
    journal, incident, events = recorded
    app = build_replay_app(journal, incident, position=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "REPLAY" in header(app) and "⏸ 10x" in header(app)
        await pilot.press("right", "right", "right")
        assert_shows(app, events, 4)
        await pilot.press("left")
        assert_shows(app, events, 3)
        note = first(events, "note.added")
        await pilot.press("right_square_bracket")  # the next notable event of any kind: the note
        assert_shows(app, events, note)
        failure = first(events, "step.failed")
        await pilot.press("F")
        assert_shows(app, events, failure)
        assert app.session.state.steps["purge-cdn"].status is StepStatus.FAILED
        await pilot.press("left_square_bracket")
        assert_shows(app, events, note)
        claim = first(events, "claim.made")
        await pilot.press("C")
        assert_shows(app, events, claim)
        assert app.session.state.claims["web-fleet"].by == "bob"
        await pilot.press("A")  # this drill has no approval: nothing moves
        assert_shows(app, events, claim)
        await pilot.press("end")
        assert_shows(app, events, len(events))
        assert app.session.state.result is RunResult.SUCCEEDED
        await pilot.press("home")
        assert_shows(app, events, 1)
        await pilot.press("a")  # a live command key: refused in a replay, nothing changes
        assert_shows(app, events, 1)
        assert app.screen is app.screen_stack[0]


async def test_seeking_back_then_forward_returns_to_the_same_state(recorded) -> None:
    journal, incident, events = recorded
    session = ReplaySession.load(str(journal), incident, 10.0, paused=True, checkpoint_every=8)
    session.index.wait()  # the background fold kept a copy every 8 events
    assert sorted(session.index.checkpoints) == list(range(8, len(events) + 1, 8))
    assert session.final_state() == folded(events, len(events))
    session.seek(40)
    at_40 = copy.deepcopy(session.state)
    session.seek(len(events))
    session.seek(5)  # restored from the start, not the end's state
    assert session.state == folded(events, 5)
    session.seek(len(events) - 1)
    session.seek(19)  # restored from the copy kept at 16
    assert session.state == folded(events, 19)
    session.seek(40)
    assert session.state == at_40 == folded(events, 40)
    session.state.claims.clear()  # a change to the state shown never reaches a kept copy
    session.seek(33)
    session.seek(40)
    assert session.state == at_40


async def test_space_plays_and_pauses_and_speed_steps_through_the_ladder(recorded) -> None:
    journal, incident, events = recorded
    app = build_replay_app(journal, incident, position=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        session = app.session
        assert isinstance(session, ReplaySession)
        await pilot.press("minus", "minus")
        assert session.speed == 2.0 and "⏸ 2x" in header(app)
        await pilot.press("minus", "minus")
        assert session.speed == SPEEDS[0]
        await pilot.press(*["plus"] * 12)
        assert session.speed == SPEEDS[-1] == 1000.0 and "1000x" in header(app)
        await pilot.press("minus", "minus", "minus")  # 100x: the end is seconds away, not one press
        assert session.speed == 100.0
        await pilot.press("space")
        assert not session.paused, (session.position, session.total)
        for _ in range(400):  # 100x: the drill's minutes pass in a second or two
            if session.position >= 10:
                break
            await pilot.pause(0.02)
        await pilot.press("space")
        assert session.paused
        k = session.position
        assert k >= 10
        await pilot.pause(0.1)
        app.tick()
        assert_shows(app, events, k)  # paused: it stays where it is
        await pilot.press("end", "space")  # play at the end: again from the start
        assert not session.paused and session.position < len(events)


async def test_a_click_on_the_timeline_goes_to_that_moment(recorded) -> None:
    journal, incident, events = recorded
    app = build_replay_app(journal, incident, position=1)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.click("#scrubber", offset=(SIZE[0] - 1, 0))
        assert_shows(app, events, len(events))


async def test_the_after_action_report_in_a_replay_is_the_whole_incidents(recorded) -> None:
    journal, incident, events = recorded
    app = build_replay_app(journal, incident, position=10)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, ReportScreen)
        assert app.screen.text == render_report(report(folded(events, len(events))))
        assert "Which stages could have run in parallel?" in app.screen.text
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportScreen)


async def test_a_facilitator_fails_a_steps_next_attempt(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("ctrl+r")  # the report waits for the end of the run
        assert not isinstance(app.screen, ReportScreen)
        app.graph.select("restart")  # waits behind the gate: its next attempt will fail
        await pilot.press("i")
        assert isinstance(app.screen, ActionMenu)
        await pilot.press("enter")  # the first choice: fail a step's next attempt
        assert isinstance(app.screen, AskScreen) and app.screen.query_one("#field-step").value == "restart"
        await pilot.press("enter")
        await settle(app)
        app.graph.select("gate")
        await pilot.press("a")
        await type_text(pilot, "go")
        await pilot.press("enter")
        await settle(app)
        restart = app.session.state.steps["restart"]
        assert (restart.status, restart.attempts) == (StepStatus.FAILED, 1)
        app.log_tail.flush()
        assert any("inject: kind=fail" in e.text for e in app.log_tail.kept)
    with JournalReader(tmp_path / "journal.db") as reader:
        incident = reader.resolve(None).id
        injects = [e for e in reader.events(incident) if e.type == "drill.inject"]
    assert [(e.actor, e.step, e.data["kind"]) for e in injects] == [("alice", "restart", "fail")]


async def test_an_inject_form_refuses_an_unknown_step_and_a_replay_offers_none(tmp_path: Path, recorded) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("i", "down", "enter")  # slow a step
        await type_text(pilot, "nope")
        await pilot.press("tab")
        await type_text(pilot, "2m")
        await pilot.press("enter")
        assert isinstance(app.screen, AskScreen)
        assert "no step '" in str(app.screen.query_one("#ask-error").render())
    journal, incident, _ = recorded
    replay = build_replay_app(journal, incident)
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("i")
        assert not isinstance(replay.screen, ActionMenu)
