"""A drill facilitator's injects from the console: pick one, fill in its form, send it.

An inject goes through the engine like any command (journaled with the facilitator's name),
so a drill's story is in its journal and replays as it was played.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text

from warroom.engine.commands import Action, Refused
from warroom.engine.drill import Inject, InjectKind
from warroom.journal.text import visible
from warroom.runbook.durations import DurationError, parse_duration
from warroom.tui.console_view import ConsoleView
from warroom.tui.screens import ActionMenu, AskScreen, Field

INJECT_CHOICES: list[tuple[InjectKind | str, str]] = [
    (InjectKind.FAIL, "Fail a step's next attempt (or the running one)"),
    (InjectKind.SLOW, "Slow a step's next attempt"),
    (InjectKind.CLAIM, "Hold a resource (someone claims it)"),
    (InjectKind.NOTE, "Post a note"),
]


class DrillInjects(ConsoleView):
    """The `i` key of a live drill."""

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
            body = [Text(f"Resources in this runbook: {visible(', '.join(self.runbook.resources) or 'none')}")]
            fields = [Field("resource", "Resource", value=locks[0] if locks else "", required=True),
                      Field("by", "Held by", value="drill", required=True, placeholder="who holds it in the story"),
                      Field("amount", "For", placeholder="e.g. 10m (empty: until released)")]
            return AskScreen("Hold a resource", body, fields, "Inject claim", check=self.inject_problem)
        return AskScreen("Post a drill note", [], [Field("text", "Note", required=True)], "Inject note")

    def inject_problem(self, values: dict[str, str]) -> str | None:
        if "step" in values and values["step"] not in self.session.state.steps:
            return f"no step {values['step']!r} in this runbook"
        if "resource" in values and values["resource"] not in self.runbook.resources:
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
