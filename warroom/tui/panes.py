"""The header line, the lock and claim board and the thread panels."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Static

from warroom.journal.state import IncidentState, RunResult
from warroom.runbook.model import Runbook
from warroom.tui.board import BOARD_COLUMNS, THREAD_COLUMNS, board_rows, thread_ids, thread_rows
from warroom.tui.diff_table import DiffTable
from warroom.tui.glyphs import RESULT_STYLES, clock
from warroom.tui.safe_text import visible


class HeaderBar(Static):
    """incident · runbook · mode · elapsed · result, on one line."""

    def show(self, state: IncidentState, runbook: Runbook, incident: str, now: float, live: bool) -> None:
        if state.started_mono is None:
            elapsed = 0.0
        elif state.result in (RunResult.RUNNING, RunResult.WAITING) and live:
            elapsed = now - state.started_mono
        else:
            elapsed = state.duration_s or 0.0
        mode = runbook.model.value + (" drill" if state.drill else "") + ("" if live else " replay")
        result = state.result.value.upper().replace("_", " ")
        self.update(Text.assemble(
            (" warroom ", "bold reverse"), " ",
            (f" {result} ", f"reverse {RESULT_STYLES[state.result]}"), " ",
            (f"⏱ {clock(elapsed) or '00:00'}", "bold"), "  ",
            (visible(incident or "starting…"), "bold"), "  ",
            (mode, "grey70"), "  ",
            (visible(runbook.title or runbook.id), "cyan"),
            no_wrap=True, overflow="ellipsis",
        ))


class LockBoard(DiffTable):
    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(BOARD_COLUMNS, id=id)

    def show(self, state: IncidentState) -> None:
        self.sync(board_rows(state))
        self.border_subtitle = Text(f"{len(self.shown)} held") if self.shown else Text("nothing held")


class ThreadPanels(VerticalScroll):
    """One titled table per thread: its steps, state, elapsed, attempts, what each waits on."""

    ALLOW_MAXIMIZE = True

    def __init__(self, runbook: Runbook, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runbook = runbook
        self.threads = thread_ids(runbook)

    def compose(self) -> ComposeResult:
        for i, tid in enumerate(self.threads):
            thread = self.runbook.thread(tid)
            title = f"{tid}: {thread.title}" if thread is not None and thread.title else (tid or "(no thread)")
            owner = f"  ({thread.owner})" if thread is not None and thread.owner else ""
            yield Label(Text.assemble((visible(title), "bold"), (visible(owner), "grey62"), no_wrap=True, overflow="ellipsis"), classes="thread-title")
            yield DiffTable(THREAD_COLUMNS, id=f"thread-{i}", classes="thread-table")

    def show(self, state: IncidentState, now: float) -> None:
        for i, tid in enumerate(self.threads):
            self.query_one(f"#thread-{i}", DiffTable).sync(thread_rows(state, self.runbook, tid, now))
