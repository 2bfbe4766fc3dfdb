"""The main screen in several states, at 80x24 and at 160x48 (pytest-textual-snapshot).

Deterministic: drills on a halting virtual clock with a fixed seed and start time (see
tui_snapshot_app.py), no cursor blink, notifications cleared. Update with --snapshot-update
after checking the new pictures by eye.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_snapshot_app import reach, scenario_app

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scenario", ["mid-incident", "lock-conflict", "approval", "failure-rollback"])
def test_console(scenario: str, size: tuple[int, int], snap_compare, tmp_path: Path) -> None:
    app = scenario_app(scenario, tmp_path)

    async def run_before(pilot) -> None:
        await reach(app, pilot, scenario)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
