"""What a person reads about one step: the brief before acting on it, and the detail view.

Both lead with what a decision needs (state, question, instructions, command, outputs, the
last lines it printed); the graph's needs and dependents come last, since a hybrid runbook's
step can have a dozen of them and they are already drawn in the graph.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from warroom.engine.commands import may_answer
from warroom.engine.context import render_text
from warroom.journal.state import IncidentState
from warroom.runbook.graph import descendants
from warroom.runbook.model import Runbook
from warroom.tui.glyphs import clock, looks
from warroom.journal.text import visible

_BOLD = "bold"


def step_brief(state: IncidentState, runbook: Runbook, step_id: str, actor: str) -> list[Text]:
    """The question and who may answer, the instructions, why it failed."""
    step = runbook.step(step_id)
    s = state.steps[step_id]
    look = looks()[s.status]
    lines = [Text.assemble((f"{look.glyph} {look.label}", look.style), "  ", visible(step.title or step.kind.value))]
    approval = state.approvals.get(step_id)
    if approval is not None:
        lines.append(Text.assemble(("Question: ", _BOLD), visible(approval.question or step.question or "")))
        who = ", ".join(may_answer(state, step_id)) or "anyone"
        lines.append(Text.assemble(("May answer: ", _BOLD), visible(who), f"   (you are {visible(actor)})"))
        if approval.four_eyes:
            lines.append(Text(f"Four eyes: {visible(state.starter)} started the run and may not answer; "
                              "the person answering types their name below.", style="yellow"))
    if step.instructions:
        lines.append(Text.assemble(("Instructions: ", _BOLD), visible(render_text(state, runbook, step.instructions))))
    if s.last_reason:
        lines.append(Text.assemble(("Last: ", _BOLD), visible(s.last_reason)))
    return lines


def detail_summary(state: IncidentState, runbook: Runbook, step_id: str, actor: str,
                   last_output: Sequence[str]) -> list[Text]:
    """The detail view's head: the brief, the command, outputs, the last output lines, the
    attempts and timings, then kind, locks, needs and dependents."""
    step = runbook.step(step_id)
    s = state.steps[step_id]
    base = state.started_mono or 0.0
    lines = step_brief(state, runbook, step_id, actor)
    shown = s.command if s.command is not None else step.command
    if shown is not None:
        text = shown if isinstance(shown, str) else " ".join(shown)
        source = "as run (secrets redacted)" if s.command is not None else "not run yet; as written"
        lines.append(Text.assemble(("Command ", _BOLD), (f"({source}): ", "grey62"), visible(text)))
    for name, value in s.outputs.items():
        lines.append(Text.assemble(("Output ", _BOLD), visible(name), " = ", visible(repr(value))))
    if not s.outputs:
        lines.append(Text("Outputs: none", style="grey62"))
    if last_output:
        lines.append(Text("Last output:", style=_BOLD))
        lines += [Text(f"  {visible(line)}", no_wrap=True, overflow="ellipsis") for line in last_output]
    lines.append(Text.assemble(("Attempts: ", _BOLD), str(s.attempts), ("  Exit code: ", _BOLD),
                               "-" if s.exit_code is None else str(s.exit_code),
                               ("  Waited: ", _BOLD), clock(s.wait_s) or "00:00",
                               ("  Took: ", _BOLD), clock(s.duration_s) or "-"))
    for n, (start, end) in enumerate(s.runs, 1):
        ended = clock(end - base) if end is not None else "..."
        lines.append(Text(f"  attempt {n}: {clock(start - base) or '00:00'} -> {ended}"))
    lines.append(Text.assemble(("Kind: ", _BOLD), step.kind.value, ("  Thread: ", _BOLD), visible(step.thread or "-"),
                               ("  Phase: ", _BOLD), visible(step.phase or "-")))
    if step.locks:
        lines.append(Text.assemble(("Locks: ", _BOLD), ", ".join(str(lk) for lk in step.locks)))
    lines.append(Text.assemble(("Needs: ", _BOLD), ", ".join(runbook.needs_of(step_id)) or "nothing"))
    lines.append(Text.assemble(("Dependents: ", _BOLD), ", ".join(sorted(descendants(runbook, step_id))) or "none"))
    return lines
