"""The main screen in several states, at 80x24 and at 160x48 (pytest-textual-snapshot).

Deterministic: drills on a halting virtual clock with a fixed seed and start time (see
tui_snapshot_app.py), no cursor blink, notifications cleared. Update with --snapshot-update
after checking the new pictures by eye.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_snapshot_app import build_replay_app, reach, recorded_journal, scenario_app

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", ["mid-incident", "lock-conflict", "approval", "failure-rollback", "hybrid"])
def test_console(scenario: str, size: tuple[int, int], snap_compare, tmp_path: Path) -> None:
    app = scenario_app(scenario, tmp_path)

    async def run_before(pilot) -> None:
        await reach(app, pilot, scenario)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("keys", [("question_mark",), ("v",), ("enter",), ("ctrl+p",)], ids=["help", "detail", "menu", "palette"])
def test_screen(keys: tuple[str, ...], size: tuple[int, int], snap_compare, tmp_path: Path) -> None:
    app = scenario_app("mid-incident", tmp_path)

    async def run_before(pilot) -> None:
        await reach(app, pilot, "mid-incident")
        await pilot.press(*keys)
        await pilot.pause()
        if keys == ("ctrl+p",):
            await palette_filled(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def palette_filled(app, pilot) -> None:
    """The palette's commands arrive from its provider in a worker: wait until their count
    holds still, so the picture never catches the list half-filled."""
    from textual.command import CommandList, CommandPalette

    counts: list[int] = []
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(app.screen, CommandPalette):
            counts.append(app.screen.query_one(CommandList).option_count)
            if len(counts) >= 5 and counts[-1] and len(set(counts[-5:])) == 1:
                from textual.widgets import Input

                app.screen.query_one(Input).cursor_blink = False  # a blink is not a change
                await pilot.pause()
                return
    raise AssertionError(f"the palette never settled: {counts[-5:]}")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    return recorded_journal(tmp_path_factory.mktemp("recorded"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_replay_mid_incident(size: tuple[int, int], snap_compare, recorded) -> None:
    app = build_replay_app(*recorded)

    async def run_before(pilot) -> None:
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_after_action_report(size: tuple[int, int], snap_compare, recorded) -> None:
    app = build_replay_app(*recorded)

    async def run_before(pilot) -> None:
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
