"""The console: one screen that draws the engine's state and turns keys into commands.

Its parts live beside it: what it draws (console_view), the commands it sends (command_flow),
a drill's injects (drill_injects), a replay's keys (replay_controls) and the keymap (keys).
This module assembles them and holds the app's life: opening and driving the session, which
keys apply now, moving between panes, leaving.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.driver import Driver
from textual.widget import Widget
from textual.widgets import DataTable, Input
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from warroom.engine.commands import STEP_ACTIONS, Action, journal_flag
from warroom.engine.outcome import ExitCode, Outcome, exit_code
from warroom.journal.errors import JournalError
from warroom.journal.report import render_report, report
from warroom.journal.state import IncidentState
from warroom.journal.text import visible
from warroom.tui.attention import next_waiting
from warroom.tui.command_flow import CommandFlow
from warroom.tui.drill_injects import DrillInjects
from warroom.tui.glyphs import ASCII, charset
from warroom.tui.graph_view import GraphView, StepSelected
from warroom.tui import keys
from warroom.tui.log_tail import LogTail
from warroom.tui.offers import board_offers, step_offers
from warroom.tui.palette import IncidentCommands
from warroom.tui.panes import NARROW_FOOTER, HeaderBar, KeyFooter, LockBoard, ThreadPanels
from warroom.tui.replay_controls import ReplayControls
from warroom.tui.screens import AskScreen, HelpScreen, ReportScreen
from warroom.tui.scrubber import Scrubber
from warroom.tui.session import ConsoleSession, ReplaySession
from warroom.tui.terminal import surviving

class WarroomApp(CommandFlow, DrillInjects, ReplayControls):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    COMMANDS = {IncidentCommands}  # the incident's commands first and only: what applies now
    BINDINGS = keys.BINDINGS

    def __init__(self, session: ConsoleSession, *, refresh_s: float = 0.2, blink: bool = True,
                 handle_signals: bool = False) -> None:
        super().__init__()
        self.blink = blink
        self.handle_signals = handle_signals
        self.signal_number: int | None = None  # the signal that ended the console, if one did
        runbook = session.runbook
        assert runbook is not None
        self.session = session
        self.runbook = runbook
        self.refresh_s = refresh_s
        self.times_second = -1
        self.shown_width = 0  # the terminal's width the footer was last laid out for
        self.incident = ""
        self.outcome = None
        self.drive_done = False  # the session is closed and the end is announced
        self.leaving = False
        self.dirty = True
        self.fatal: Exception | None = None  # what stopped the session opening or running
        self.driving: Worker[None] | None = None
        self._offer_key = ()
        self.threads = {s.id: s.thread or "" for s in runbook.steps}
        self.seen = []
        self.replay = session if isinstance(session, ReplaySession) else None

    # layout ------------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield HeaderBar(id="header")
        if self.replay is not None:
            yield Scrubber(self.replay, id="scrubber")
        with Grid(id="panes"):
            graph = GraphView(self.runbook, self.session.state, id="graph")
            graph.border_title = "1 Graph"
            yield graph
            with Vertical(id="side"):
                board = LockBoard(self.runbook, id="board")
                board.border_title = "2 Locks & claims"
                yield board
                threads = ThreadPanels(self.runbook, id="threads")
                threads.border_title = "3 Threads"
                yield threads
            log = LogTail(id="log")
            log.border_title = "4 Log"
            yield log
        yield KeyFooter(show_command_palette=self.replay is None, compact=self.replay is None)  # a replay needs the room for its keys

    def on_mount(self) -> None:
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                loop.add_signal_handler(sig, self.signalled, sig.name)
        if charset() is ASCII:
            self.add_class("-ascii")
        self.graph.focus()
        self.set_interval(self.refresh_s, self.tick)
        self.driving = self.run_worker(self.drive(), group="engine", exit_on_error=False)
        self.redraw()

    def get_driver_class(self) -> type[Driver]:
        return surviving(super().get_driver_class())

    async def on_unmount(self) -> None:
        """The app is gone only once the session is closed: an open journal keeps a thread
        that would hold the process (and whoever waits on it) at exit."""
        if self.driving is not None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await self.driving.wait()

    def on_resize(self, event: events.Resize) -> None:
        """The footer's keys change across NARROW_FOOTER columns."""
        if not self.shown_width or (event.size.width < NARROW_FOOTER) != (self.shown_width < NARROW_FOOTER):
            self.query_one(KeyFooter).refresh(recompose=True)
        self.shown_width = event.size.width

    def signalled(self, name: str) -> None:
        """SIGTERM, SIGHUP or SIGINT: leave as `q` does, the run interrupted cleanly and
        journaled, the terminal restored by Textual on the way out."""
        self.leaving = True
        self.signal_number = signal.Signals[name].value
        if self.session.live and self.outcome is None:
            self.session.interrupt(name)
        else:
            self.exit(self.exit_code())

    def workers_busy(self) -> bool:
        """Whether a command is still on its way to the engine."""
        return any(w.group == "commands" and not w.is_finished for w in self.workers)

    # the engine ---------------------------------------------------------------------------------
    async def drive(self) -> None:
        """Opens the session in this loop, runs it to its end, and leaves if asked to.
        The writer is closed however this ends (even when the app goes first), so the
        journal's lock is never left to the process's exit."""
        try:
            self.incident = await self.session.open(self.on_engine_event, self.on_engine_output)
            if self.replay is not None:
                self.replayed()
            self.dirty = True
            self.outcome = await self.session.run()
        except Exception as exc:  # a locked or damaged journal: one clear line, then leave
            self.fatal = exc
            self.exit(ExitCode.FAILED)
            return
        finally:
            await self.session.close()
        self.dirty = True
        self.redraw()
        if self.leaving:
            self.exit(self.exit_code())
        elif self.session.live:
            result = self.session.state.result.value.replace("_", " ")
            self.notify(f"The run finished: {result}. q leaves.", title="warroom", markup=False)
        self.drive_done = True

    def exit_code(self) -> int:
        if not self.session.live and self.outcome is not Outcome.INTERRUPTED:
            return ExitCode.OK
        return exit_code(self.outcome or Outcome.FINISHED, self.session.state.result, self.signal_number)

    @on(StepSelected)
    def step_selected(self) -> None:
        self.refresh_offers()

    @on(DataTable.RowSelected, ".thread-table")
    def thread_row_chosen(self, event: DataTable.RowSelected) -> None:
        step = event.row_key.value
        if step is not None:
            self.graph.select(step)
            self.action_menu()

    @on(DataTable.RowHighlighted, ".thread-table")
    def thread_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.graph.select(event.row_key.value)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "command":
            if not self.session.live or self.outcome is not None:
                return False
            act = Action(str(parameters[0]))
            state = self.session.state
            if act is Action.APPROVE and self.selected in state.approvals:
                return state.approvals[self.selected].decision is None  # shows who may answer
            if act in STEP_ACTIONS:
                return any(o.action is act for o in step_offers(state, self.selected, self.session.actor))
            return any(o.action is act for o in board_offers(state, self.session.actor)) or act is Action.CLAIM
        if action == "menu":  # a replay has no actions: v shows the detail
            return self.selected is not None and self.replay is None
        if action == "detail":
            return self.selected is not None
        if action == "next_waiting":
            return self.session.live and self.outcome is None
        if action.startswith("replay_"):
            return self.replay is not None and self.screen is self.screen_stack[0] and not isinstance(self.focused, Input)
        if action == "report":
            main = self.screen is self.screen_stack[0]
            return main and (not self.session.live or not self.session.state.result.going)
        if action == "inject":
            state = self.session.state
            return self.session.live and state.drill and state.result.going and self.outcome is None
        return True

    def action_next_waiting(self) -> None:
        """`w`: the selection moves to the next step that waits for a person."""
        step = next_waiting(self.waiting(), [row.step for row in self.graph.rows], self.selected)
        if step is None:
            self.notify("nothing waits for a person now", timeout=3)
            return
        self.graph.select(step)
        self.graph.focus()

    def action_report(self) -> None:
        """The after-action report (`warroom report`): of the whole incident in a replay."""
        state: IncidentState = self.replay.final_state() if self.replay is not None else self.session.state
        try:
            text = render_report(report(state))
        except JournalError as exc:
            self.notify(visible(str(exc)), severity="error", markup=False)
            return
        self.push_screen(ReportScreen(f"After-action report: {visible(state.incident)}", text))

    # navigation and screens -------------------------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen(replay=self.replay is not None))

    def action_filter(self) -> None:
        self.log_tail.open_filter()

    def action_focus_pane(self, pane: int) -> None:
        if pane == 1:
            self.graph.focus()
        elif pane == 2:
            self.query_one("#board", LockBoard).focus()
        elif pane == 3:
            self.query_one("#thread-0", DataTable).focus()
        else:
            self.log_tail.log_widget.focus()

    def pane_of(self, widget: Widget | None) -> Widget | None:
        for node in [widget, *(widget.ancestors if widget is not None else [])]:
            if isinstance(node, (GraphView, LockBoard, ThreadPanels, LogTail)):
                return node
        return None

    def action_maximize(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        pane = self.pane_of(self.focused)
        if pane is not None:
            self.screen.maximize(pane, container=False)

    async def action_quit(self) -> None:
        """ctrl+q leaves like q: a running incident is interrupted cleanly, never dropped."""
        self.action_leave()

    def action_leave(self) -> None:
        live = self.session.live and self.outcome is None
        if not live:
            self.exit(self.exit_code())
            return
        if not self.session.state.result.going:
            self.leaving = True  # ended: the engine only lingers for commands; nothing to interrupt
            self.session.interrupt("console")
            return
        body = [Text(f"{self.incident or 'The incident'} is still running. Leaving interrupts it cleanly "
                     "(journaled as run.interrupted); steps still running are in doubt until resumed."),
                Text(f"Carry on later with: warroom resume {self.incident}{journal_flag(self.session.journal)}", style="bold")]

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                self.leaving = True
                self.session.interrupt("console")

        self.push_screen(AskScreen("Leave the incident?", body, [], "Interrupt and leave"), answered)

