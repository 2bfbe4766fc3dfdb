"""The header line, the lock and claim board and the thread panels."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Footer, Label, Static
from textual.widgets._footer import FooterKey

from warroom.journal.state import IncidentState
from warroom.runbook.model import Runbook
from warroom.tui.board import board_columns, board_rows, thread_columns, thread_ids, thread_rows, time_cell
from warroom.tui.diff_table import DiffTable, fit_words
from warroom.tui.glyphs import RESULT_STYLES, charset, clock
from warroom.journal.text import visible
from warroom.tui.session import ReplaySession


class HeaderBar(Static):
    """result · elapsed · runbook title · what waits for people · mode · incident, on one
    line, most telling first: a narrow terminal leaves out the mode and the incident id (whole
    or not at all) and shortens the title after a word, never dropping it; a replay leads with where it is (event k of n) and how fast it plays. `waiting` is how many
    steps wait for a person and how many of them are the user's (None: no roles say so)."""

    def show(self, state: IncidentState, runbook: Runbook, incident: str, now: float, live: bool,
             replay: ReplaySession | None = None, *, waiting: tuple[int, int | None] = (0, None)) -> None:
        if state.started_mono is None:
            elapsed = 0.0
        elif replay is not None or (state.result.going and live):
            elapsed = now - state.started_mono
        else:
            elapsed = state.duration_s or 0.0
        mode = runbook.model.value + (" drill" if state.drill else "")
        result = state.result.value.upper().replace("_", " ")
        chars = charset()
        lead: list[tuple[str, str] | str] = []
        if replay is not None:
            play = chars.paused if replay.paused else chars.playing
            lead += [(" REPLAY ", "bold reverse magenta"), " ",
                     (f"{play} {replay.speed:g}x", "bold magenta"), "  ",
                     (f"event {replay.position} of {replay.total}", "bold"), "  "]
        count, mine = waiting
        people = ""
        if count:
            yours = f", {mine} yours" if mine is not None else ""
            people = f"{chars.waiting} {count} wait{'s' if count == 1 else ''} for people{yours} (w)"
        text = Text.assemble(*lead, (f" {result} ", f"reverse {RESULT_STYLES[state.result]}"), " ",
                             (f"{chars.timer} {clock(elapsed) or '00:00'}", "bold"), "  ", no_wrap=True)
        width = self.size.width or 80
        title = visible(runbook.title or runbook.id)
        room = width - text.cell_len - (len(people) + 2 if people else 0)
        text.append(fit_words(title, max(12, room)), "cyan")
        if people:
            text.append("  ")
            text.append(people, "bold yellow")
        for extra, style in ((mode, "grey70"), (visible(incident or f"starting{chars.more}"), "bold")):
            if text.cell_len + 2 + len(extra) <= width:  # whole or not at all
                text.append("  ")
                text.append(extra, style)
        self.update(text)


NARROW_FOOTER = 120
"""Below this many columns the footer leaves out SPARE_KEYS (help and the palette list them)."""
SPARE_KEYS = frozenset({"c", "n", "i", "slash"})


class KeyFooter(Footer):
    """The footer: on a narrow terminal the keys that are always there (claim, note, inject,
    filter) give their room to the ones that apply to the selection, so it is never
    cut; `?` and ctrl+p list them all."""

    def compose(self) -> ComposeResult:
        narrow = self.app.size.width < NARROW_FOOTER
        for widget in super().compose():
            if not (narrow and isinstance(widget, FooterKey) and widget.key in SPARE_KEYS):
                yield widget


class LockBoard(DiffTable):
    ALLOW_MAXIMIZE = True

    def __init__(self, runbook: Runbook, *, id: str | None = None) -> None:
        super().__init__(board_columns(runbook), id=id)

    def show(self, state: IncidentState) -> None:
        self.sync(board_rows(state))
        self.caption()

    def lay_out(self, width: int) -> None:
        super().lay_out(width)
        self.caption()  # the columns it drops depend on the width: the caption names them

    def caption(self) -> None:
        held = f"{len(self.shown)} held" if self.shown else "nothing held"
        hidden = f", z: {', '.join(self.hidden)}" if self.hidden and self.shown else ""
        self.border_subtitle = Text(held + hidden)


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
            owner = f" ({thread.owner})" if thread is not None and thread.owner else ""
            title = f": {thread.title}" if thread is not None and thread.title else ""
            # id and owner first: a narrow pane cuts the end of the title, never who owns it
            yield Label(Text.assemble((visible(tid or "(no thread)"), "bold"), (visible(owner), "grey62"),
                                      (visible(title), "bold"), no_wrap=True, overflow="ellipsis"), classes="thread-title")
            yield DiffTable(thread_columns(self.runbook, tid), id=f"thread-{i}", classes="thread-table")

    def show(self, state: IncidentState, now: float) -> None:
        for i, tid in enumerate(self.threads):
            self.query_one(f"#thread-{i}", DiffTable).sync(thread_rows(state, self.runbook, tid, now))

    def show_times(self, state: IncidentState, running: Iterable[str], now: float) -> None:
        """Moves the running steps' times between events, a cell each."""
        for sid in running:
            table = self.query_one(f"#thread-{self.threads.index(self.runbook.step(sid).thread)}", DiffTable)
            table.set_cell(sid, "time", time_cell(state.steps[sid], now))
