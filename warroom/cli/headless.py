"""A run without the console: one line per committed event and per output line, on stdout."""

from __future__ import annotations

from warroom.engine.session import LiveSession
from warroom.journal.events import Event
from warroom.journal.timeline import event_line, line, output_text


class HeadlessPrinter:
    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def on_event(self, event: Event) -> None:
        state = self.session.state
        print(event_line(event, state.runbook, state.started_mono), flush=False)

    def on_output(self, step: str | None, stream: str, text: str) -> None:
        state = self.session.state
        print(line(self.session.output_time(), state.started_mono, state.runbook, step, output_text(stream, text)))
