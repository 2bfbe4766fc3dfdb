"""Operator commands from the console: the key that says why it does not apply, the form that
asks for a reason or a confirmation, and the send to the engine with what it answered.

The console never changes the incident itself: the engine checks and journals each command,
and this module only asks, sends and tells the operator the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on
from textual.message import Message
from textual.widgets import Input

from warroom.engine.commands import STEP_ACTIONS, Action, OperatorCommand, Refused, needs_reason
from warroom.journal.text import visible
from warroom.runbook.graph import descendants
from warroom.tui.brief import detail_summary, step_brief
from warroom.tui.console_view import ConsoleView
from warroom.tui.keys import KEY_ACTIONS
from warroom.tui.offers import DESTRUCTIVE, LABELS, Offer, allowed, answerer, step_offers
from warroom.tui.screens import ActionMenu, AskScreen, Field, StepDetail

DETAIL = "detail"
"""The action menu's entry for the step detail view (not an operator command)."""
DETAIL_OUTPUT_LINES = 5
"""The newest output lines of a step its detail view leads with."""


@dataclass
class CommandSent(Message):
    """The engine accepted and journaled a command."""

    command: OperatorCommand


@dataclass
class CommandRefused(Message):
    """The engine (or the console, before asking for a reason) refused a command."""

    command: OperatorCommand
    reason: str


class CommandFlow(ConsoleView):
    """Keys and menu entries become forms, forms become commands sent to the engine."""

    seen: list[CommandSent | CommandRefused]
    """Command outcomes as posted, newest last: what the operator was told."""

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
