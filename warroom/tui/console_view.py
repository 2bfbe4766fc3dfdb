"""What the console draws and when: the panes it reads, the engine's listeners, the redraw tick.

Engine listeners only buffer (log lines) and set a dirty flag; a timer redraws a few times a
second, so a firehose of output costs one paint per tick, not one per line. The console's other
parts (commands, drill injects, replay keys) build on this view, each in its own module.
"""

from __future__ import annotations

from textual.app import App
from textual.css.query import NoMatches

from warroom.engine.outcome import Outcome
from warroom.journal.events import Event
from warroom.journal.state import StepStatus
from warroom.journal.timeline import output_text, what
from warroom.runbook.model import Runbook
from warroom.tui.attention import waiting_for_people, yours
from warroom.tui.graph_view import GraphView
from warroom.tui.log_tail import LogTail, elapsed
from warroom.tui.offers import step_offers
from warroom.tui.panes import HeaderBar, LockBoard, ThreadPanels
from warroom.tui.scrubber import Scrubber
from warroom.tui.session import ConsoleSession, ReplaySession


class ConsoleView(App[int]):
    """The panes drawn from the session's state; the app sets these fields when it is made."""

    session: ConsoleSession
    runbook: Runbook
    replay: ReplaySession | None
    incident: str
    outcome: Outcome | None
    dirty: bool
    times_second: int  # the second the running steps' times last showed
    threads: dict[str, str]
    _offer_key: tuple[object, ...]

    @property
    def graph(self) -> GraphView:
        return self.query_one("#graph", GraphView)

    @property
    def log_tail(self) -> LogTail:
        return self.query_one("#log", LogTail)

    @property
    def selected(self) -> str | None:
        return self.graph.selected

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

    def waiting(self) -> list[str]:
        """The steps waiting for a person, in the graph's order."""
        return waiting_for_people(self.session.state, [row.step for row in self.graph.rows])
