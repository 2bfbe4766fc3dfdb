"""Every operator command path from the keyboard, checked in the engine's state and journal."""

from __future__ import annotations

from pathlib import Path

from tui_snapshot_app import console_app, settle, type_text

from warroom.engine.commands import Action
from warroom.journal.state import RunResult, StepStatus
from warroom.journal.store import JournalReader
from warroom.engine.outcome import ExitCode
from warroom.tui.app import WarroomApp
from warroom.tui.command_flow import CommandRefused, CommandSent
from warroom.tui.screens import AskScreen

SIZE = (100, 30)


def status(app: WarroomApp, step: str) -> StepStatus:
    return app.session.state.steps[step].status


def messages(app: WarroomApp, kind: type) -> list:
    return [m for m in app.seen if isinstance(m, kind)]


async def start(app: WarroomApp, pilot, select: str | None = None) -> None:
    await settle(app)
    if select is not None:
        app.graph.select(select)
        await pilot.pause()


async def approve_gate(app: WarroomApp, pilot) -> None:
    await start(app, pilot, "gate")
    await pilot.press("a")
    assert isinstance(app.screen, AskScreen)
    await type_text(pilot, "looks safe")
    await pilot.press("enter")
    await settle(app)


async def test_approve_journals_the_answer_and_the_dependent_runs(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await approve_gate(app, pilot)
        approval = app.session.state.approvals["gate"]
        assert (approval.decision, approval.by, approval.reason) == ("granted", "alice", "looks safe")
        assert status(app, "restart") is StepStatus.SUCCEEDED
        assert [m.command.action for m in messages(app, CommandSent)] == [Action.APPROVE]


async def test_the_approval_dialog_shows_the_question_and_who_may_answer(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "gate")
        await pilot.press("a")
        shown = " ".join(str(line) for line in app.screen.body)
        assert "Restart the app tier now?" in shown and "May answer: alice" in shown


async def test_reject_needs_a_reason_and_fails_the_gate(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "gate")
        await pilot.press("x", "enter")  # no reason: the dialog stays
        assert isinstance(app.screen, AskScreen)
        await type_text(pilot, "not now")
        await pilot.press("enter")
        await settle(app)
        assert app.session.state.approvals["gate"].decision == "rejected"
        assert status(app, "gate") is StepStatus.FAILED
        assert status(app, "restart") is StepStatus.BLOCKED


async def test_claim_then_release_a_resource(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "restart")
        await pilot.press("c")  # the selected step's lock is offered
        assert app.screen.query_one("#field-resource").value == "app-fleet"
        await pilot.press("enter")
        await type_text(pilot, "hotfix")
        await pilot.press("enter")
        await settle(app)
        claim = app.session.state.claims["app-fleet"]
        assert (claim.by, claim.reason) == ("alice", "hotfix")
        assert app.query_one("#board").shown  # the board lists the claim
        await pilot.press("R", "enter", "enter")
        await settle(app)
        assert app.session.state.claims == {}


async def test_retry_and_skip_a_failed_step_ask_for_a_reason(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "flaky")
        assert status(app, "flaky") is StepStatus.FAILED
        await pilot.press("r", "enter")
        assert isinstance(app.screen, AskScreen)  # a reason is required
        await type_text(pilot, "transient")
        await pilot.press("enter")
        await settle(app)
        assert app.session.state.steps["flaky"].attempts == 2
        await pilot.press("s")
        await type_text(pilot, "not needed")
        await pilot.press("enter")
        await settle(app)
        assert status(app, "flaky") is StepStatus.SKIPPED
        overrides = [(o.action, o.reason) for o in app.session.state.overrides]
        assert ("retry", "transient") in overrides and ("skip", "not needed") in overrides


async def test_mark_done_and_undo_from_the_action_menu(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await approve_gate(app, pilot)
        app.graph.select("restart")
        await pilot.press("u", "enter")
        assert isinstance(app.screen, AskScreen) and app.screen.danger
        await type_text(pilot, "roll back")
        await pilot.press("enter")
        await settle(app)
        app.graph.select("confirm")
        await pilot.press("enter")  # the action menu: Mark done is first
        await pilot.press("enter")
        await pilot.press("enter")  # the reason is optional for a person's own step
        await settle(app)
        assert status(app, "confirm") is StepStatus.SUCCEEDED
        assert status(app, "restart") is StepStatus.UNDONE


async def test_note_goes_to_the_journal(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("n")
        await type_text(pilot, "customer reports stopped")
        await pilot.press("enter")
        await settle(app)
        assert [(n.actor, n.text) for n in app.session.state.notes] == [("alice", "customer reports stopped")]


async def test_a_refused_command_says_why_and_changes_nothing(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot, "gate")
        events = app.session.state.events
        app.request(Action.RETRY, "gate")
        await pilot.pause()
        (refused,) = messages(app, CommandRefused)
        assert "only a failed, in-doubt, cancelled or blocked step can be retried" in refused.reason
        assert app.session.state.events == events


async def test_palette_offers_the_commands_that_apply_now(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("ctrl+p")
        await type_text(pilot, "approve gate")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AskScreen) and app.screen.title_text == "Approve gate?"


async def test_quit_interrupts_cleanly_and_resume_carries_on(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("q")
        assert isinstance(app.screen, AskScreen)
        hint = " ".join(str(line) for line in app.screen.body)
        assert f"--journal {tmp_path / 'journal.db'}" in hint  # not the default journal: the hint names it
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_value == ExitCode.INTERRUPTED
    with JournalReader(tmp_path / "journal.db") as reader:
        incident = reader.resolve(None).id
        state = reader.state(incident)
    assert state.result is RunResult.INTERRUPTED

    again = console_app(tmp_path, resume=(incident, state.last_mono or 0.0))
    async with again.run_test(size=SIZE) as pilot:
        await approve_gate(again, pilot)
        assert again.incident == incident and again.session.state.resumes == 1
        assert status(again, "restart") is StepStatus.SUCCEEDED
