"""Modal screens: a form for reasons, claims, notes and drill injects (also the confirmation of
destructive actions), the action menu of a step, the help screen, a step's detail view and the
after-action report.

Forms return their values and nothing else: the app turns them into an OperatorCommand, so a
modal can never change an incident by itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, ScrollableContainer, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Log, OptionList, Static
from textual.widgets.option_list import Option

from warroom.engine.commands import Action
from warroom.journal.store import JournalReader
from warroom.tui.glyphs import charset
from warroom.journal.text import visible

OUTPUT_PAGE = 500
"""Lines of a step's journaled output loaded per page in its detail view."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: str = ""
    required: bool = False
    placeholder: str = ""


class AskScreen(ModalScreen[dict[str, str] | None]):
    """A question with optional fields; dismisses with the values, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="ask.cancel")]

    def __init__(self, title: str, body: list[Text], fields: list[Field], confirm: str,
                 *, danger: bool = False, refusal: str | None = None,
                 check: Callable[[dict[str, str]], str | None] | None = None) -> None:
        super().__init__()
        self.refusal = refusal
        self.check = check  # what is wrong with the values, if anything (shown, not sent)
        self.title_text = title
        self.body = body
        self.fields = fields
        self.confirm = confirm
        self.danger = danger

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="ask", classes="modal danger" if self.danger else "modal"):
            yield Label(Text(self.title_text, style="bold"), id="ask-title")
            for line in self.body:
                yield Static(line, classes="ask-body")
            for f in self.fields:
                yield Label(Text(f.label + (" (required)" if f.required else "")))
                yield Input(value=f.value, placeholder=f.placeholder, id=f"field-{f.name}", compact=True)
            yield Label(Text(f"You cannot do this now: {visible(self.refusal)}", style="bold red") if self.refusal else "", id="ask-error")
            with Horizontal(classes="buttons"):
                if self.refusal is None:
                    yield Button(self.confirm, variant="error" if self.danger else "primary", id="ask-ok")
                yield Button("Cancel" if self.refusal is None else "Close", id="ask-cancel")

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = getattr(self.app, "blink", True)
        if self.fields:
            self.query_one(f"#field-{self.fields[0].name}", Input).focus()
        else:
            self.query(Button).first().focus()

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}", Input).value.strip() for f in self.fields}

    def submit(self) -> None:
        values = self.values()
        missing = [f.label for f in self.fields if f.required and not values[f.name]]
        problem = f"{missing[0]} is required" if missing else self.check(values) if self.check else None
        if problem:
            self.query_one("#ask-error", Label).update(Text(visible(problem), style="bold red"))
            return
        self.dismiss(values)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        values = self.values()
        names = [f.name for f in self.fields]
        index = names.index(event.input.id.removeprefix("field-")) if event.input.id else len(names) - 1
        later_empty = [f for f in self.fields[index + 1:] if not values[f.name]]
        missing = next((f for f in self.fields if f.required and not values[f.name]), None)
        target = missing or (later_empty[0] if later_empty else None)
        if target is not None:  # enter moves on to what is still empty, else sends at once
            self.query_one(f"#field-{target.name}", Input).focus()
        else:
            self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ask-ok":
            self.submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ActionMenu(ModalScreen[Action | str | None]):
    """What can be done to the selected step now (or, titled otherwise, any short list of
    choices); dismisses with the chosen action."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="menu.cancel")]

    def __init__(self, step: str, choices: list[tuple[Action | str, str]], *, title: str = "") -> None:
        super().__init__()
        self.step = step
        self.choices = choices
        self.title_text = title or f"Step {step}"

    def compose(self) -> ComposeResult:
        with Vertical(id="menu", classes="modal"):
            yield Label(Text(self.title_text, style="bold"))
            yield OptionList(*(Option(Text(label), id=str(i)) for i, (_, label) in enumerate(self.choices)), id="menu-options")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(self.choices[int(event.option.id or 0)][0])

    def action_cancel(self) -> None:
        self.dismiss(None)


HELP_KEYS: tuple[tuple[str, str], ...] = (
    ("w", "select the next step waiting for a person (the header counts them)"),
    ("enter", "actions on the selected step"),
    ("v", "step detail: command, outputs, attempts, full output"),
    ("a / x", "approve / reject the selected approval"),
    ("d / f", "mark the selected step done / failed"),
    ("r / s / u", "retry / skip / undo the selected step (asks a reason)"),
    ("c / R", "claim / release a resource"),
    ("n", "add a note to the journal"),
    ("ctrl+x", "abort the incident (asks a reason)"),
    ("i", "drill only: inject a failure, a slowdown, a held resource or a note"),
    ("ctrl+r", "after-action report (at the end of a run, and in a replay)"),
    ("ctrl+p", "command palette: every command that applies now"),
    ("/", "filter the log: text, step:ID, thread:ID"),
    ("1 2 3 4", "focus graph, lock board, threads, log"),
    ("z", "maximize the focused pane (z again restores)"),
    ("j k up down", "move in the graph"),
    ("?", "this help"),
    ("q", "leave (asks first while the incident runs; it stays resumable)"),
)


REPLAY_KEYS: tuple[tuple[str, str], ...] = (
    ("space", "play / pause (at the end: play again from the start)"),
    ("left right", "one event back / forward"),
    ("+ -", "faster / slower: 1 2 5 10 20 50 100 200 500 1000x"),
    ("[ ]", "previous / next failure, approval, claim or note"),
    ("F A C N", "next failure / approval / claim / note"),
    ("home end", "the start / the end of the incident"),
    ("click", "on the timeline: go to that moment"),
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, *, replay: bool = False) -> None:
        super().__init__()
        self.replay = replay

    def compose(self) -> ComposeResult:
        chars = charset()
        fail, ask, claim, note = chars.marks
        replay_title = Text(f"Replay (commands are refused; the timeline marks {fail} failures, {ask} approvals, "
                            f"{claim} claims, {note} notes)", style="bold")
        sections = [(Text("warroom console", style="bold"), HELP_KEYS), (replay_title, REPLAY_KEYS)]
        box = VerticalScroll(id="help", classes="modal")
        box.border_title = "Help"
        box.border_subtitle = "up/down, pgup/pgdn scroll - esc closes"
        with box:
            for n, (title, keys) in enumerate(reversed(sections) if self.replay else sections):
                yield Label(Text.assemble("\n" if n else "", title))
                yield Static(_two_columns([(Text(key, style="bold cyan"), Text(what)) for key, what in keys]))
            yield Label(Text("\nStep states", style="bold"))
            states = [(Text(look.glyph, style=look.style), Text(look.label)) for look in chars.looks.values()]
            states.append((Text(chars.critical_node, style="bold"), Text(f"on the critical path; {chars.node} elsewhere")))
            yield Static(_two_columns(states))
            yield Static(Text("\nHighlight: needs of the selected step (orange), its dependents (blue)."))

    def on_mount(self) -> None:
        self.query_one("#help").focus()  # the arrows scroll it at once

    def action_close(self) -> None:
        self.dismiss(None)


class StepDetail(ModalScreen[None]):
    """One step: what it runs (as journaled, secrets redacted), its attempts, outputs and
    timings, and its full output paged from the journal (read-only beside the live writer)."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", id="detail.close"),
        Binding("m", "more", "More output", id="detail.more"),
    ]

    def __init__(self, step: str, summary: list[Text], journal: str | None, incident: str) -> None:
        super().__init__()
        self.step = step
        self.summary = summary
        self.journal = journal
        self.incident = incident
        self.pages: Iterator[list[str]] | None = None
        self.loaded = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="detail", classes="modal"):
            with VerticalScroll(id="detail-summary"):
                for line in self.summary:
                    yield Static(line)
            yield Label(Text(f"output of {self.step} (from the journal; m: more)", style="bold"), id="detail-output-title")
            yield Log(id="detail-output", max_lines=None)

    def on_mount(self) -> None:
        if self.journal is not None:
            self.load_page()

    @work(thread=True, exclusive=True, group="detail-output")
    def load_page(self) -> None:
        if self.journal is None:
            return
        with JournalReader(self.journal) as reader:
            lines: list[str] = []
            for n, row in enumerate(r for r in reader.rows(self.incident) if r[5] == "step.output" and r[6] == self.step):
                if n < self.loaded:
                    continue
                if len(lines) >= OUTPUT_PAGE:
                    break
                lines.append(_output_text(row[7]))
        self.app.call_from_thread(self._show, lines)

    def _show(self, lines: list[str]) -> None:
        self.loaded += len(lines)
        if lines:
            self.query_one("#detail-output", Log).write_lines(lines)
        more = "m: more" if len(lines) == OUTPUT_PAGE else "end of output"
        self.query_one("#detail-output-title", Label).update(
            Text(f"output of {self.step}: {self.loaded} lines from the journal ({more})", style="bold"))

    def action_more(self) -> None:
        self.load_page()

    def action_close(self) -> None:
        self.dismiss(None)


class ReportScreen(ModalScreen[None]):
    """The after-action report as `warroom report` prints it: plain text, scrollable both ways
    so its table never wraps."""

    BINDINGS = [Binding("escape,q", "close", "Close", id="report.close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="report", classes="modal"):
            yield Label(Text(self.title_text, style="bold"), id="report-title")
            with ScrollableContainer(id="report-scroll"):
                yield Static(Text(self.text, no_wrap=True), id="report-body")
            yield Label(Text("arrows scroll - esc closes", style="grey62"))

    def on_mount(self) -> None:
        self.query_one("#report-scroll").focus()

    def action_close(self) -> None:
        self.dismiss(None)


def _two_columns(rows: list[tuple[Text, Text]]) -> Table:
    """Keys (or glyphs) right-aligned beside what they do; long lines wrap under their text."""
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", no_wrap=True, min_width=9)
    table.add_column(ratio=1)
    for left, right in rows:
        table.add_row(left, right)
    return table


def _output_text(data: str) -> str:
    try:
        decoded = json.loads(data)
    except ValueError:
        return visible(data)
    prefix = "! " if decoded.get("stream") == "stderr" else ""
    return visible(prefix + str(decoded.get("text", "")))
