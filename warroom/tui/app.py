"""The console: one screen that draws the engine's state and turns keys into commands.

Engine listeners only buffer (log lines) and set a dirty flag; a timer redraws a few times a
second, so a firehose of output costs one paint per tick, not one per line. Commands go to the
engine, which checks and journals them; the console never changes the incident itself. A
replay draws the same panes from the replay session's state, which seeks and plays; a drill's
facilitator injects through the engine like any command.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from warroom.engine.commands import STEP_ACTIONS, Action, OperatorCommand, Refused, needs_reason
from warroom.engine.drill import Inject, InjectKind
from warroom.engine.outcome import ExitCode, Outcome, exit_code
from warroom.journal.errors import JournalError
from warroom.journal.events import Event
from warroom.journal.report import render_report, report
from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.journal.timeline import output_text, what
from warroom.runbook.durations import DurationError, parse_duration
from warroom.runbook.graph import descendants
from warroom.tui.attention import next_waiting, waiting_for_people, yours
from warroom.tui.brief import detail_summary, step_brief
from warroom.tui.glyphs import ASCII, charset
from warroom.tui.graph_view import GraphView, StepSelected
from warroom.tui.log_tail import LogTail, elapsed
from warroom.tui.offers import DESTRUCTIVE, LABELS, Offer, allowed, answerer, board_offers, resources, step_offers
from warroom.tui.palette import IncidentCommands
from warroom.tui.panes import NARROW_FOOTER, HeaderBar, KeyFooter, LockBoard, ThreadPanels
from warroom.journal.text import visible
from warroom.tui.screens import ActionMenu, AskScreen, Field, HelpScreen, ReportScreen, StepDetail
from warroom.tui.scrubber import Scrubber, SeekTo
from warroom.tui.session import ConsoleSession, Notable, ReplaySession

DETAIL = "detail"
"""The action menu's entry for the step detail view (not an operator command)."""
DETAIL_OUTPUT_LINES = 5
"""The newest output lines of a step its detail view leads with."""
LOG_REBUILD = 2_000
"""Events whose lines refill the log after a replay jumps (the newest ones before the position)."""
ENDED = (RunResult.RUNNING, RunResult.WAITING)
KEY_ACTIONS: dict[str, Action] = {
    "a": Action.APPROVE, "x": Action.REJECT, "d": Action.DONE, "f": Action.FAIL, "r": Action.RETRY,
    "s": Action.SKIP, "u": Action.UNDO, "R": Action.RELEASE,
}
"""The command keys that say why when they do not apply (their bindings, below)."""
STEP, SPEED = Binding.Group("Step", compact=True), Binding.Group("Speed", compact=True)
MARK, KIND = Binding.Group("Mark", compact=True), Binding.Group("Next", compact=True)
INJECT_CHOICES: list[tuple[InjectKind | str, str]] = [
    (InjectKind.FAIL, "Fail a step's next attempt (or the running one)"),
    (InjectKind.SLOW, "Slow a step's next attempt"),
    (InjectKind.CLAIM, "Hold a resource (someone claims it)"),
    (InjectKind.NOTE, "Post a note"),
]


@dataclass
class CommandSent(Message):
    """The engine accepted and journaled a command."""

    command: OperatorCommand


@dataclass
class CommandRefused(Message):
    """The engine (or the console, before asking for a reason) refused a command."""

    command: OperatorCommand
    reason: str


class WarroomApp(App[int]):
    CSS_PATH = "warroom.tcss"
    TITLE = "warroom"
    COMMANDS = {IncidentCommands}  # the incident's commands first and only: what applies now
    BINDINGS = [
        Binding("w", "next_waiting", "Waiting", id="next_waiting"),
        Binding("enter", "menu", "Actions", id="menu"),
        Binding("v", "detail", "Detail", show=False, id="detail"),
        Binding("a", "command('approve')", "Approve", id="approve"),
        Binding("x", "command('reject')", "Reject", id="reject"),
        Binding("d", "command('done')", "Done", id="done"),
        Binding("f", "command('fail')", "Fail", id="fail"),
        Binding("r", "command('retry')", "Retry", id="retry"),
        Binding("s", "command('skip')", "Skip", id="skip"),
        Binding("u", "command('undo')", "Undo", id="undo"),
        Binding("c", "command('claim')", "Claim", id="claim"),
        Binding("R", "command('release')", "Release", id="release"),
        Binding("n", "command('note')", "Note", id="note"),
        Binding("ctrl+x", "command('abort')", "Abort", show=False, id="abort"),
        Binding("i", "inject", "Inject", id="inject"),
        Binding("space", "replay_toggle", "Play", priority=True, id="replay.toggle"),
        Binding("left", "replay_step(-1)", "Back", key_display="←", priority=True, group=STEP, id="replay.back"),
        Binding("right", "replay_step(1)", "Forward", key_display="→", priority=True, group=STEP, id="replay.forward"),
        Binding("minus", "replay_speed(-1)", "Slower", key_display="-", priority=True, group=SPEED, id="replay.slower"),
        Binding("plus,equals_sign", "replay_speed(1)", "Faster", key_display="+", priority=True, group=SPEED, id="replay.faster"),
        Binding("left_square_bracket", "replay_jump(-1)", "Previous mark", key_display="[", priority=True, group=MARK, id="replay.previous"),
        Binding("right_square_bracket", "replay_jump(1)", "Next mark", key_display="]", priority=True, group=MARK, id="replay.next"),
        Binding("F", "replay_kind('failure')", "Next failure", priority=True, group=KIND, id="replay.failure"),
        Binding("A", "replay_kind('approval')", "Next approval", priority=True, group=KIND, id="replay.approval"),
        Binding("C", "replay_kind('claim')", "Next claim", priority=True, group=KIND, id="replay.claim"),
        Binding("N", "replay_kind('note')", "Next note", priority=True, group=KIND, id="replay.note"),
        Binding("home", "replay_seek('start')", "Start", show=False, priority=True, id="replay.start"),
        Binding("end", "replay_seek('end')", "End", show=False, priority=True, id="replay.end"),
        Binding("ctrl+r", "report", "Report", id="report"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("z", "maximize", "Max", show=False, id="maximize"),
        Binding("1", "focus_pane(1)", "Graph", show=False, id="pane.graph"),
        Binding("2", "focus_pane(2)", "Locks", show=False, id="pane.board"),
        Binding("3", "focus_pane(3)", "Threads", show=False, id="pane.threads"),
        Binding("4", "focus_pane(4)", "Log", show=False, id="pane.log"),
        Binding("q", "leave", "Quit", id="quit"),
    ]

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
        self.times_second = -1  # the second the running steps' times last showed
        self.shown_width = 0  # the terminal's width the footer was last laid out for
        self.incident = ""
        self.outcome: Outcome | None = None
        self.drive_done = False  # the session is closed and the end is announced
        self.leaving = False
        self.dirty = True
        self.fatal: Exception | None = None  # what stopped the session opening or running
        self.driving: Worker[None] | None = None
        self._offer_key: tuple[object, ...] = ()
        self.threads = {s.id: s.thread or "" for s in runbook.steps}
        self.seen: list[CommandSent | CommandRefused] = []
        """Command outcomes as posted, newest last: what the operator was told."""
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

    @property
    def graph(self) -> GraphView:
        return self.query_one("#graph", GraphView)

    @property
    def log_tail(self) -> LogTail:
        return self.query_one("#log", LogTail)

    @property
    def selected(self) -> str | None:
        return self.graph.selected

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

    def on_engine_event(self, event: Event) -> None:
        state = self.session.state
        thread = self.threads.get(event.step or "", "")
        self.log_tail.add(event.step, thread, elapsed(event.mono, state.started_mono), what(event))
        self.dirty = True

    def show_header(self) -> None:
        state = self.session.state
        waiting = self.waiting()
        mine = sum(1 for sid in waiting if yours(state, sid, self.session.actor)) if self.runbook.roles else None
        self.query_one("#header", HeaderBar).show(state, self.runbook, self.incident, self.session.now(),
                                                  self.session.live, self.replay, waiting=(len(waiting), mine))

    def on_engine_output(self, step: str | None, stream: str, line: str) -> None:
        state = self.session.state
        self.log_tail.add(step, self.threads.get(step or "", ""), elapsed(self.session.output_time(), state.started_mono),
                          output_text(stream, line), output=True)

    # drawing ----------------------------------------------------------------------------------
    def tick(self) -> None:
        try:
            self.log_tail.flush()
            if self.dirty:
                self.redraw()
            else:  # times move even when nothing happens: the header's, and running steps'
                self.show_times()
            if self.replay is not None:  # its marks arrive from the background, once found
                self.query_one("#scrubber", Scrubber).refresh()
        except NoMatches:
            pass  # the app is closing and its panes are going; the interval fired once more

    def show_times(self) -> None:
        """Between events only the clocks move: the header's, and the running steps' times
        once their shown second has changed (a line or a cell each, not a redraw)."""
        state, now = self.session.state, self.session.now()
        second = int(now)
        if second == self.times_second:
            self.show_header()
            return
        self.times_second = second
        running = [sid for sid, s in state.steps.items() if s.status is StepStatus.RUNNING and sid in self.threads]
        with self.batch_update():
            self.show_header()
            self.graph.show_times(running, now)
            self.query_one("#threads", ThreadPanels).show_times(state, running, now)

    def redraw(self) -> None:
        self.dirty = False
        state, now = self.session.state, self.session.now()
        with self.batch_update():
            self.show_header()
            if self.replay is not None:
                self.query_one("#scrubber", Scrubber).refresh()
            self.graph.show(state, now)
            self.query_one("#board", LockBoard).show(state)
            self.query_one("#threads", ThreadPanels).show(state, now)
        self.refresh_offers()

    def refresh_offers(self) -> None:
        """Redraws the footer only when the set of commands that apply has changed."""
        state = self.session.state
        key = (self.selected, tuple(step_offers(state, self.selected, self.session.actor)),
               bool(state.claims), state.result, self.outcome)
        if key != self._offer_key:
            self._offer_key = key
            self.refresh_bindings()

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
            return main and (not self.session.live or self.session.state.result not in ENDED)
        if action == "inject":
            state = self.session.state
            return self.session.live and state.drill and state.result in ENDED and self.outcome is None
        return True

    def waiting(self) -> list[str]:
        """The steps waiting for a person, in the graph's order."""
        return waiting_for_people(self.session.state, [row.step for row in self.graph.rows])

    def action_next_waiting(self) -> None:
        """`w`: the selection moves to the next step that waits for a person."""
        step = next_waiting(self.waiting(), [row.step for row in self.graph.rows], self.selected)
        if step is None:
            self.notify("nothing waits for a person now", timeout=3)
            return
        self.graph.select(step)
        self.graph.focus()

    def on_key(self, event: events.Key) -> None:
        """A command key that does not apply now says why, instead of doing nothing."""
        action = KEY_ACTIONS.get(event.key)
        if action is None or self.screen is not self.screen_stack[0] or isinstance(self.focused, Input):
            return
        if self.check_action("command", (action.value,)):
            return
        event.stop()
        self.notify(visible(self.why_not(action)), title=f"{event.key}: {LABELS[action].lower()} does not apply",
                    severity="warning", markup=False, timeout=4)

    def why_not(self, action: Action) -> str:
        """Why `action` cannot be sent now, in the engine's words where it has them."""
        if not self.session.live:
            return "this is a replay: it shows what happened and takes no commands"
        if self.outcome is not None:
            return "the run has ended in this console; leave (q) and use warroom resume"
        target = self.selected or ""
        if action in STEP_ACTIONS and not target:
            return "no step is selected"
        if action is Action.RELEASE and not self.session.state.claims:
            return "nothing is claimed"
        who = self.answerer(target) if action in (Action.APPROVE, Action.REJECT) else self.session.actor
        return allowed(self.session.state, action, target, who) or f"{action.value} does not apply to {target} now"

    # commands -----------------------------------------------------------------------------------
    def action_command(self, action: str) -> None:
        act = Action(action)
        target = self.selected or "" if act in STEP_ACTIONS else ""
        self.request(act, target)

    def request(self, action: Action, target: str = "") -> None:
        """Asks what the command needs (a reason, a confirmation), then sends it."""
        state = self.session.state
        actor = self.session.actor
        if action in (Action.APPROVE, Action.REJECT) and target in state.steps:
            actor = self.answerer(target)
        if action in STEP_ACTIONS or action is Action.ABORT:
            refusal = allowed(state, action, target, actor) if self.session.live else "this is a replay: it takes no commands"
            if refusal is not None and action is Action.APPROVE and target in state.approvals:
                self.push_screen(AskScreen(f"Approve {target}?", self.step_brief(target), [], "",
                                           refusal=refusal))
                return
            if refusal is not None:
                self.post_message(CommandRefused(OperatorCommand(action, target, actor), refusal))
                return
        if action is Action.RELEASE and not target and len(state.claims) == 1:
            target = next(iter(state.claims))
        if action is Action.CLAIM and not target and self.selected is not None:
            locks = [lk.name for lk in self.runbook.step(self.selected).locks if lk.name not in state.claims]
            target = locks[0] if locks else ""
        screen = self.form(action, target)

        def answered(values: dict[str, str] | None) -> None:
            if values is None:
                return
            reason = values.get("reason", "")
            what = values.get("resource", values.get("text", target))
            self.send(OperatorCommand(action, what, values.get("as") or actor, reason))

        self.push_screen(screen, answered)

    def form(self, action: Action, target: str) -> AskScreen:
        state = self.session.state
        label = LABELS[action]
        probe = OperatorCommand(action, target, self.session.actor)
        reason_needed = needs_reason(state, probe) or action in (Action.REJECT, Action.ABORT)
        reason = Field("reason", "Reason", required=reason_needed, placeholder="why (journaled with your name)")
        body: list[Text] = []
        if action in STEP_ACTIONS:
            body = self.step_brief(target)
        if action in (Action.APPROVE, Action.REJECT):
            who = Field("as", "Answered by", value=self.answerer(target), required=True,
                        placeholder="the person answering, journaled as the approver")
            return AskScreen(f"{label} {target}?", body, [reason, who], label, danger=action is Action.REJECT)
        if action in (Action.CLAIM, Action.RELEASE):
            resource = Field("resource", "Resource", value=target, required=True, placeholder="e.g. web-fleet")
            held = ", ".join(f"{name} ({c.by})" for name, c in state.claims.items()) or "none"
            return AskScreen(f"{label} a resource", [Text(f"Claimed now: {visible(held)}")],
                             [resource, Field("reason", "Why", placeholder="what you are doing with it")], label)
        if action is Action.NOTE:
            return AskScreen("Add a note to the journal", [], [Field("text", "Note", required=True)], "Add note")
        if action is Action.ABORT:
            body = [Text("Stops the incident for good: no step starts again and it cannot be resumed.", style="bold red")]
            return AskScreen("Abort the incident?", body, [reason], "Abort the incident", danger=True)
        if action is Action.UNDO:
            body.append(Text("Runs this step's undo command now.", style="bold red"))
        if action is Action.SKIP:
            deps = sorted(descendants(self.runbook, target))
            if deps:
                body.append(Text(f"Dependents that may then start: {', '.join(deps)}"))
        return AskScreen(f"{label} {target}?", body, [reason], label, danger=action in DESTRUCTIVE)

    def answerer(self, step_id: str) -> str:
        return answerer(self.session.state, step_id, self.session.actor)

    def step_brief(self, step_id: str) -> list[Text]:
        return step_brief(self.session.state, self.runbook, step_id, self.session.actor)

    def send(self, command: OperatorCommand) -> None:
        self.run_worker(self._send(command), group="commands")

    async def _send(self, command: OperatorCommand) -> None:
        if self.outcome is not None:
            self.post_message(CommandRefused(command, "the run has ended in this console; leave (q) and use warroom resume"))
            return
        try:
            await self.session.submit(command)
        except Refused as exc:
            self.post_message(CommandRefused(command, str(exc)))
            return
        self.post_message(CommandSent(command))

    @on(CommandSent)
    def command_sent(self, message: CommandSent) -> None:
        c = message.command
        self.seen.append(message)
        self.dirty = True
        self.notify(f"{c.action.value} {visible(c.target)}: journaled as {visible(c.actor)}", markup=False, timeout=3)

    @on(CommandRefused)
    def command_refused(self, message: CommandRefused) -> None:
        self.seen.append(message)
        self.notify(visible(message.reason), title=f"refused: {message.command.action.value}", severity="error", markup=False)

    # drill facilitation ----------------------------------------------------------------------------
    def action_inject(self) -> None:
        """The facilitator picks what to inject, then fills in a small form."""

        def chosen(kind: Action | str | None) -> None:
            if isinstance(kind, InjectKind):
                self.push_screen(self.inject_form(kind), partial(self.inject_answered, kind))

        self.push_screen(ActionMenu("", list(INJECT_CHOICES), title="Drill inject (journaled with your name)"), chosen)

    def inject_form(self, kind: InjectKind) -> AskScreen:
        selected = self.selected or ""
        step = Field("step", "Step", value=selected, required=True, placeholder="a step id")
        if kind is InjectKind.FAIL:
            return AskScreen("Fail a step's next attempt", [], [step], "Inject failure", danger=True, check=self.inject_problem)
        if kind is InjectKind.SLOW:
            by = Field("amount", "Slower by", required=True, placeholder="e.g. 2m or 90s")
            return AskScreen("Slow a step's next attempt", [], [step, by], "Inject slowdown", check=self.inject_problem)
        if kind is InjectKind.CLAIM:
            locks = [lk.name for lk in self.runbook.step(selected).locks] if selected else []
            body = [Text(f"Resources in this runbook: {visible(', '.join(resources(self.runbook)) or 'none')}")]
            fields = [Field("resource", "Resource", value=locks[0] if locks else "", required=True),
                      Field("by", "Held by", value="drill", required=True, placeholder="who holds it in the story"),
                      Field("amount", "For", placeholder="e.g. 10m (empty: until released)")]
            return AskScreen("Hold a resource", body, fields, "Inject claim", check=self.inject_problem)
        return AskScreen("Post a drill note", [], [Field("text", "Note", required=True)], "Inject note")

    def inject_problem(self, values: dict[str, str]) -> str | None:
        if "step" in values and values["step"] not in self.session.state.steps:
            return f"no step {values['step']!r} in this runbook"
        if "resource" in values and values["resource"] not in resources(self.runbook):
            return f"no step of this runbook locks {values['resource']!r}"
        if values.get("amount"):
            try:
                parse_duration(values["amount"])
            except DurationError as exc:
                return str(exc)
        return None

    def inject_answered(self, kind: InjectKind, values: dict[str, str] | None) -> None:
        if values is None:
            return
        state = self.session.state
        at = self.session.now() - (state.started_mono or 0.0)
        amount = parse_duration(values["amount"]) if values.get("amount") else None
        inject = Inject(round(at, 3), kind, step=values.get("step"), resource=values.get("resource"),
                        by=values.get("by"), for_s=amount if kind is InjectKind.CLAIM else None,
                        text=values.get("text"), slow_s=(amount or 0.0) if kind is InjectKind.SLOW else 0.0)
        self.run_worker(self._inject(inject), group="commands")

    async def _inject(self, inject: Inject) -> None:
        actor = self.session.actor
        try:
            await self.session.inject(inject, actor)
        except Refused as exc:
            self.notify(visible(str(exc)), title="refused: inject", severity="error", markup=False)
            return
        self.dirty = True
        what = inject.step or inject.resource or inject.text or ""
        self.notify(f"inject {inject.kind.value} {visible(what)}: journaled as {visible(actor)}", markup=False, timeout=3)

    # replay -------------------------------------------------------------------------------------
    def replayed(self) -> None:
        """After a jump: the log shows the lines up to the new position, every pane redraws."""
        replay = self.replay
        assert replay is not None
        self.log_tail.clear()
        for event in replay.events(replay.position - LOG_REBUILD, replay.position):
            self.on_engine_event(event)
        self.log_tail.flush()
        self.redraw()

    def seek(self, position: int) -> None:
        assert self.replay is not None
        self.replay.paused = True
        self.replay.seek(position)
        self.replayed()

    def action_replay_toggle(self) -> None:
        assert self.replay is not None
        at_end = self.replay.at_end
        self.replay.toggle()
        if at_end and not self.replay.paused:
            self.replayed()
        else:
            self.show_header()

    def action_replay_step(self, delta: int) -> None:
        assert self.replay is not None
        self.seek(self.replay.position + delta)

    def action_replay_speed(self, step: int) -> None:
        assert self.replay is not None
        self.replay.set_speed(step)
        self.show_header()

    def action_replay_seek(self, where: str) -> None:
        assert self.replay is not None
        self.seek(1 if where == "start" else self.replay.total)

    def action_replay_jump(self, direction: int) -> None:
        self.jump(direction > 0, frozenset(Notable), "failure, approval, claim or note")

    def action_replay_kind(self, kind: str) -> None:
        self.jump(True, frozenset({Notable(kind)}), kind)

    def jump(self, forward: bool, kinds: frozenset[Notable], what: str) -> None:
        assert self.replay is not None
        target = self.replay.notable(forward, kinds)
        if target is None:
            self.notify(f"no {'later' if forward else 'earlier'} {what}", timeout=2)
            return
        self.seek(target)

    @on(SeekTo)
    def seek_to(self, message: SeekTo) -> None:
        if self.replay is not None:
            self.seek(message.position)

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
    def action_menu(self) -> None:
        step = self.selected
        if step is None:
            return
        offers: list[Offer] = step_offers(self.session.state, step, self.session.actor) if self.session.live and self.outcome is None else []
        choices: list[tuple[Action | str, str]] = [(o.action, o.label) for o in offers]
        choices.append((DETAIL, f"Show detail of {step}"))

        def chosen(choice: Action | str | None) -> None:
            if choice == DETAIL:
                self.action_detail()
            elif isinstance(choice, Action):
                self.request(choice, step)

        self.push_screen(ActionMenu(step, choices), chosen)

    def action_detail(self) -> None:
        step = self.selected
        if step is None:
            return
        journal = getattr(self.session, "journal", None) if self.incident else None
        self.push_screen(StepDetail(step, self.detail_summary(step), journal, self.incident))

    def detail_summary(self, step_id: str) -> list[Text]:
        last = self.log_tail.last_output(step_id, DETAIL_OUTPUT_LINES)
        return detail_summary(self.session.state, self.runbook, step_id, self.session.actor, last)

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
        if self.session.state.result not in (RunResult.RUNNING, RunResult.WAITING):
            self.leaving = True  # ended: the engine only lingers for commands; nothing to interrupt
            self.session.interrupt("console")
            return
        body = [Text(f"{self.incident or 'The incident'} is still running. Leaving interrupts it cleanly "
                     "(journaled as run.interrupted); steps still running are in doubt until resumed."),
                Text(f"Carry on later with: warroom resume {self.incident}", style="bold")]

        def answered(values: dict[str, str] | None) -> None:
            if values is not None:
                self.leaving = True
                self.session.interrupt("console")

        self.push_screen(AskScreen("Leave the incident?", body, [], "Interrupt and leave"), answered)

