"""What needs a person comes to them (issue 17): the header counts it, `w` selects it, the
palette offers a four-eyes approval, and a key that does not apply says why."""

from __future__ import annotations

from pathlib import Path

from tui_snapshot_app import console_app, scenario_app, settle

from warroom.engine.commands import Action, OperatorCommand
from warroom.journal.state import StepStatus
from warroom.tui.command_flow import CommandSent
from warroom.tui.diff_table import Col, fit, fit_words
from warroom.tui.glyphs import ASCII, ASCII_LOOKS, LOOKS, unicode_locale
from warroom.tui.offers import all_offers
from warroom.tui.screens import AskScreen

SIZE = (80, 24)


def header(app) -> str:
    return str(app.query_one("#header").render())


async def test_w_selects_the_waiting_step_and_two_keys_approve_it(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        app.graph.select("confirm")
        await pilot.pause()
        assert "1 waits for people, 1 yours (w)" in header(app)
        await pilot.press("w")
        assert app.selected == "gate"
        await pilot.press("a")
        assert isinstance(app.screen, AskScreen)
        await pilot.press("enter")  # the reason is optional: enter sends
        await settle(app)
        assert app.session.state.approvals["gate"].decision == "granted"
        assert [m.command.action for m in app.seen if isinstance(m, CommandSent)] == [Action.APPROVE]


async def test_a_key_that_does_not_apply_says_why(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        app.graph.select("confirm")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        notes = [n.message for n in app._notifications]
        assert any("not an approval" in n for n in notes), notes
        assert app.screen is app.screen_stack[0]


async def test_the_palette_offers_a_four_eyes_approval(tmp_path: Path) -> None:
    app = scenario_app("approval", tmp_path)  # bank-batch-recovery: helen started it, four eyes
    async with app.run_test(size=SIZE):
        await settle(app)
        await app.session.submit(OperatorCommand(Action.DONE, "open-change", "helen"))
        await settle(app)
        assert app.session.state.steps["approve-stop"].status is StepStatus.WAITING
        labels = [o.label for o in all_offers(app.session.state, "helen")]
        assert "Approve approve-stop" in labels  # answered by another approver, in the dialog
        assert "Skip approve-stop" not in labels  # a skip is an approval without the question


def test_columns_fit_the_pane_and_drop_what_does_not() -> None:
    columns = (Col("step", 15), Col("state", 11), Col("time", 7), Col("#", 2, drop=2),
               Col("waits on", 60, flex=True, least=12, drop=1))
    assert fit(columns, 37) == {"step": 15, "state": 11, "time": 7}
    wide = fit(columns, 120)
    assert wide["waits on"] == 120 - (15 + 11 + 7 + 2 + 5)
    assert fit_words("waits for person approval", 14) == "waits for…"


def test_ascii_glyphs_for_a_terminal_without_utf8() -> None:
    assert not unicode_locale({"LANG": "C", "LC_CTYPE": "C.UTF-8"})  # what Python makes of LANG=C
    assert not unicode_locale({"LC_ALL": "POSIX", "LANG": "en_US.UTF-8"})
    assert unicode_locale({"LANG": "en_GB.UTF-8"})
    glyphs = [look.glyph for look in ASCII_LOOKS.values()]
    assert all(g.isascii() for g in glyphs) and len(set(glyphs)) == len(LOOKS)
    assert all(c.isascii() for c in ASCII.critical_node + ASCII.node + ASCII.timer + ASCII.more + "".join(ASCII.marks))
