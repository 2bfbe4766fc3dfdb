"""The graph pane: git-log lanes in topological order, one distinct glyph per step state."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len

from warroom.engine.clock import VirtualClock
from warroom.engine.ledger import RunOptions
from warroom.journal.state import StepStatus
from warroom.runbook.loader import load_runbook
from warroom.tui.app import WarroomApp
from warroom.tui.diff_table import DiffTable
from warroom.tui.glyphs import LOOKS
from warroom.tui.lanes import NODE_MARK, lane_rows
from warroom.engine.session import LiveSession

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"


def test_every_state_has_its_own_single_cell_glyph_and_label() -> None:
    assert set(LOOKS) == set(StepStatus)
    glyphs = [look.glyph for look in LOOKS.values()]
    assert len(set(glyphs)) == len(glyphs) == 11
    assert all(cell_len(g) == 1 for g in glyphs)
    assert len({look.label for look in LOOKS.values()}) == 11


def test_lanes_follow_needs_git_log_style() -> None:
    rows = {r.step: r for r in lane_rows(load_runbook(RUNBOOKS / "web-outage.yaml"))}
    order = list(rows)
    assert order.index("drain-web") < order.index("restart-web") < order.index("verify-site")
    # verify-site joins the app chain and the edge chain: its node turns the edge lane in
    assert rows["verify-site"].prefix.startswith("│ ●─┘")
    # resolve-status closes the first lane (post-status) and the verify-site lane
    assert rows["resolve-status"].prefix == "●─┘"
    for row in rows.values():
        assert row.prefix[row.node] == NODE_MARK


def test_a_step_needing_three_joins_them_with_tees() -> None:
    rows = {r.step: r for r in lane_rows(load_runbook(RUNBOOKS / "analytics-latency.yaml"))}
    assert rows["choose-action"].prefix == "●─┴─┘"


class HandClock(VirtualClock):
    """Virtual time that moves only when the test moves it; due timers wait for that."""

    def real_delay(self, until: float) -> float | None:
        return 0.0 if until <= self.now() else 3600.0


async def test_a_running_steps_time_moves_between_events(tmp_path: Path) -> None:
    """Nothing is journaled while a long step runs, yet its time in the graph and its thread
    panel keeps counting, as the header clock does: a commander can see it is not stuck."""
    path = tmp_path / "rb.yaml"
    path.write_text("runbook: soak\nsteps:\n  - {id: soak, run: 'true', estimate: 10m}\n", encoding="utf-8")
    runbook = load_runbook(path)
    clock = HandClock(speed=None, start_wall=1_700_000_000.0)
    session = LiveSession(str(tmp_path / "j.db"), runbook, RunOptions(actor="alice", drill=True, speed=None),
                          clock=clock)
    app = WarroomApp(session, refresh_s=3600.0, blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(500):
            soak = app.session.state.steps.get("soak")
            if soak is not None and soak.status is StepStatus.RUNNING:
                break
            await pilot.pause()
        app.redraw()
        events = app.session.state.events
        clock.advance_to(75.0)
        app.tick()
        await pilot.pause()
        assert app.session.state.events == events  # nothing happened but the clock
        assert "01:15" in app.graph.row_text(app.graph.index["soak"]).plain
        table = app.query_one("#thread-0", DiffTable)
        assert table.get_cell("soak", "time").plain == "01:15"
        await pilot.press("q")
