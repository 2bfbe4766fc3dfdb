"""The console's keys: every binding in one list, so which key does what is read in one place
and the app's modules hold what the keys do.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from warroom.engine.commands import Action

KEY_ACTIONS: dict[str, Action] = {
    "a": Action.APPROVE, "x": Action.REJECT, "d": Action.DONE, "f": Action.FAIL, "r": Action.RETRY,
    "s": Action.SKIP, "u": Action.UNDO, "R": Action.RELEASE,
}
"""The command keys that say why when they do not apply (their bindings, below)."""
STEP, SPEED = Binding.Group("Step", compact=True), Binding.Group("Speed", compact=True)
MARK, KIND = Binding.Group("Mark", compact=True), Binding.Group("Next", compact=True)

BINDINGS: list[BindingType] = [
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
