"""The graph pane: git-log lanes in topological order, one distinct glyph per step state."""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len

from warroom.journal.state import StepStatus
from warroom.runbook.loader import load_runbook
from warroom.tui.glyphs import LOOKS
from warroom.tui.lanes import NODE_MARK, lane_rows

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
