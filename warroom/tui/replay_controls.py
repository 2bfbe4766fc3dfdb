"""A replay's keys: play and pause, step, change speed, seek, jump to the next mark.

A replay draws the same panes as a live run from the replay session's state; what is here only
moves that session's position and redraws what the new position shows.
"""

from __future__ import annotations

from textual import on

from warroom.tui.console_view import ConsoleView
from warroom.tui.scrubber import SeekTo
from warroom.tui.session import Notable

LOG_REBUILD = 2_000
"""Events whose lines refill the log after a replay jumps (the newest ones before the position)."""


class ReplayControls(ConsoleView):
    """The replay's keys (bound only in a replay) and the scrubber's seeks."""

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
