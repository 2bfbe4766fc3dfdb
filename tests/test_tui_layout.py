"""80x24 is first class (issue 17): nothing a person reads is cut mid-way, z maximizes
every pane, toasts keep off the log's newest line, help says it scrolls."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets._footer import FooterKey
from tui_snapshot_app import reach, scenario_app

from warroom.tui.diff_table import GAP, DiffTable
from warroom.tui.log_tail import Entry
from warroom.tui.panes import HeaderBar
from warroom.tui.screens import HelpScreen

SMALL = (80, 24)


async def test_panes_fit_80_columns(tmp_path: Path) -> None:
    app = scenario_app("mid-incident", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await reach(app, pilot, "mid-incident")
        header = str(app.query_one(HeaderBar).render())
        assert "Web tier outage" in header
        row = app.graph.row_text(app.graph.index["restart-web"], app.graph.scrollable_content_region.width)
        assert row.plain.rstrip().endswith("00:32") and row.cell_len <= app.graph.scrollable_content_region.width
        for table in app.query(DiffTable):
            used = sum(w + GAP for w in table.widths.values())
            assert used <= table.size.width, (table.id, table.widths)
            assert all(w >= len(name) for name, w in table.widths.items())
        board = app.query_one("#board", DiffTable)
        assert list(board.widths)[:3] == ["resource", "holder", "since"] and board.widths["since"] >= 7
        width = app.log_tail.log_widget.size.width
        line = Entry("wait-cdn-propagation", "edge", "1:02:03", "x" * 200).line(width)
        assert width - line.index("x") >= 55
        keys = [k for k in app.query(FooterKey)]
        assert keys and max(k.region.right for k in keys) <= app.size.width


async def test_threads_say_what_a_step_waits_on_in_a_word(tmp_path: Path) -> None:
    app = scenario_app("lock-conflict", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await reach(app, pilot, "lock-conflict")
        table = app.query_one("#thread-0", DiffTable)
        state = table.get_cell("restart-web", "state")
        assert state.plain.endswith("claim")


@pytest.mark.parametrize("key", ["1", "2", "3", "4"])
async def test_z_maximizes_every_pane(key: str, tmp_path: Path) -> None:
    app = scenario_app("mid-incident", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await reach(app, pilot, "mid-incident")
        await pilot.press(key, "z")
        wanted = {"1": "graph", "2": "board", "3": "threads", "4": "log"}[key]
        assert app.screen.maximized is not None and app.screen.maximized.id == wanted
        await pilot.press("z")
        assert app.screen.maximized is None


async def test_maximized_board_shows_every_column(tmp_path: Path) -> None:
    app = scenario_app("lock-conflict", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await reach(app, pilot, "lock-conflict")
        board = app.query_one("#board", DiffTable)
        assert board.hidden == ["why", "waiters"]
        await pilot.press("2", "z")
        await pilot.pause()
        assert board.hidden == []


async def test_toasts_keep_off_the_log(tmp_path: Path) -> None:
    app = scenario_app("mid-incident", tmp_path)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await reach(app, pilot, "mid-incident")
        app.notify("a long message that takes a few lines of the toast " * 3)
        await pilot.pause(0.2)
        toast = app.query_one("Toast")
        log = app.log_tail.log_widget.region
        assert toast.region.bottom <= log.y or not toast.region.overlaps(log)


async def test_help_says_it_scrolls(tmp_path: Path) -> None:
    app = scenario_app("mid-incident", tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        await reach(app, pilot, "mid-incident")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help")
        assert box.max_scroll_y > 0 and "scroll" in str(box.border_subtitle)
