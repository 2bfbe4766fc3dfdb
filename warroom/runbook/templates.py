"""`{{ path }}` placeholders in commands and texts, filled so data never becomes a command.

A string command runs under `sh -c`. Its values never enter the shell's text: each
placeholder becomes a reference to an environment variable (`"${WARROOM_T1}"` unquoted,
`${WARROOM_T1}` inside double quotes or a heredoc) and the value travels in the child's
environment, so the shell expands it and never parses it, whatever the quoting around the
placeholder. `echo "host {{ vars.host }}"` and `echo {{ vars.host }}` both print the value
exactly. The same holds for the script of an argv `[sh, -c, SCRIPT]`. Where no reference is
inert (single quotes, a quoted heredoc, after `eval`, a nested `sh -c` script, the remote
command of `ssh`) the loader refuses the runbook; `shell.py` tells those places apart.

An argv command is never parsed by a shell, so a value is inserted as is and stays inside the
one argument that holds it. Secrets are the exception: an argv is readable by every local
user (`ps`), so a secret may only go where it travels in the environment.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from warroom.runbook.expressions import ExpressionError, Path, Resolver, parse_path
from warroom.runbook.shell import ShellLexer, Slot
from warroom.runbook.shell_commands import command_refusal, shell_script_index
from warroom.runbook.shell_refusals import Refusal

_OPEN = "{{"
_CLOSE = "}}"


class TemplateError(ValueError):
    """A template that cannot be read; `offset` is 0-based into its text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class _Placeholder:
    path: Path
    offset: int  # where the path starts in the template text


@dataclass(frozen=True)
class Template:
    """Literal text and placeholders, in order."""

    text: str
    parts: tuple[str | _Placeholder, ...]

    @property
    def references(self) -> frozenset[Path]:
        return frozenset(p.path for p in self.parts if isinstance(p, _Placeholder))

    @property
    def placeholders(self) -> tuple[_Placeholder, ...]:
        return tuple(p for p in self.parts if isinstance(p, _Placeholder))

    @functools.cached_property
    def literal(self) -> str | None:
        """The text as it renders when it has no placeholders (most commands), else None:
        worked out once per parsed template, not on every attempt."""
        if any(isinstance(p, _Placeholder) for p in self.parts):
            return None
        return "".join(p for p in self.parts if isinstance(p, str))

    def render(self, resolve: Resolver) -> str:
        """The text with each placeholder's value, for people to read (never for a shell)."""
        if self.literal is not None:
            return self.literal
        return "".join(p if isinstance(p, str) else value_text(resolve(p.path)) for p in self.parts)


def value_text(value: Any) -> str:
    """How a value reads when substituted: null is empty, booleans lowercase, lists as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    return str(value)


@functools.lru_cache(maxsize=1024)
def parse_template(text: str) -> Template:
    """Split text into literals and `{{ path }}` placeholders; TemplateError says where not."""
    if not isinstance(text, str):
        raise TemplateError(f"expected text, got {type(text).__name__}", 0)
    parts: list[str | _Placeholder] = []
    pos = 0
    while True:
        start = text.find(_OPEN, pos)
        if start < 0:
            break
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            raise TemplateError("unterminated '{{': close the placeholder with '}}'", start)
        inner_start = start + len(_OPEN)
        inner = text[inner_start:end]
        if not inner.strip():
            raise TemplateError("empty '{{ }}': put a path like vars.name inside", start)
        try:
            path = parse_path(inner)
        except ExpressionError as exc:
            raise TemplateError(
                "only a single path like vars.name may go inside '{{ }}', "
                f"got {inner.strip()!r}",
                inner_start + exc.offset,
            ) from None
        if start > pos:
            parts.append(text[pos:start])
        parts.append(_Placeholder(path, inner_start + len(inner) - len(inner.lstrip())))
        pos = end + len(_CLOSE)
    if pos < len(text):
        parts.append(text[pos:])
    return Template(text, tuple(parts))


Command = str | tuple[str, ...] | list[str]
ENV_PREFIX = "WARROOM_T"
_ARGV_SECRET = Refusal(
    "a secret in an argv command would be visible to every local user (ps, /proc); write the "
    "command as a string, where the secret is passed through the environment"
)
_NUL = "a NUL character cannot be passed to a command"


class CommandRenderError(ValueError):
    """A command that cannot be run with these values (a NUL in a value, an unsafe
    placeholder in a runbook that was not validated): the step fails with this message."""


@dataclass(frozen=True)
class RenderedCommand:
    """What to spawn: `argv`, the extra environment `env` (the values of a shell command's
    placeholders) merged over the runner's, and `shown`, the command as journaled (values
    in place for the record; the journal writer redacts secrets)."""

    argv: list[str]
    env: dict[str, str]
    shown: str | list[str]


@dataclass(frozen=True)
class UnsafePlaceholder:
    """A place in a command that cannot be made safe: `item` is the argv index (None for a
    string command), `offset` 0-based into that text."""

    item: int | None
    offset: int
    reason: str


@dataclass(frozen=True)
class _Arg:
    template: Template
    slots: tuple[Slot | Refusal, ...] | None  # one per placeholder when a shell parses it


@functools.lru_cache(maxsize=1024)
def _plan(command: str | tuple[str, ...]) -> tuple[_Arg, ...]:
    """How each argument of a command is filled: as shell text or inserted as is."""
    if isinstance(command, str):
        template = parse_template(command)
        return (_Arg(template, _shell_slots(template)),)
    templates = [parse_template(arg) for arg in command]
    words = [t.text if not t.placeholders else None for t in templates]
    script = shell_script_index(words)
    args: list[_Arg] = []
    for i, template in enumerate(templates):
        if i == script:
            args.append(_Arg(template, _shell_slots(template)))
            continue
        refusal = command_refusal(words, i) if template.placeholders else None
        secret = any(p.path[0] == "secrets" for p in template.placeholders)
        why = refusal or (_ARGV_SECRET if secret else None)
        args.append(_Arg(template, None if why is None else tuple(why for _ in template.placeholders)))
    return tuple(args)


def _shell_slots(template: Template) -> tuple[Slot | Refusal, ...]:
    lexer = ShellLexer()
    slots: list[Slot | Refusal] = []
    for part in template.parts:
        if isinstance(part, str):
            lexer.feed(part)
        else:
            slots.append(lexer.placeholder())
    return tuple(slots)


def command_problems(command: Command) -> list[UnsafePlaceholder]:
    """Every placeholder of a command that would let a value run, and every NUL, for the
    loader (a TemplateError if a template does not parse)."""
    found: list[UnsafePlaceholder] = []
    args = _plan(_key(command))
    for index, arg in enumerate(args):
        item = None if isinstance(command, str) else index
        if "\0" in arg.template.text:
            found.append(UnsafePlaceholder(item, arg.template.text.index("\0"), _NUL))
        for placeholder, slot in zip(arg.template.placeholders, arg.slots or ()):
            if isinstance(slot, Refusal):
                found.append(UnsafePlaceholder(item, placeholder.offset, slot.reason))
    return found


def render_command(command: Command, resolve: Resolver) -> RenderedCommand:
    """The command to spawn with these values; CommandRenderError if it cannot be run."""
    env: dict[str, str] = {}
    names: dict[Path, str] = {}

    def value(path: Path) -> str:
        text = value_text(resolve(path))
        if "\0" in text:
            raise CommandRenderError(f"{'.'.join(path)} holds a NUL character, which no command can take")
        try:
            text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raise CommandRenderError(f"{'.'.join(path)} is not valid text (a lone surrogate)") from None
        return text

    def reference(path: Path, slot: Slot | Refusal) -> str:
        if isinstance(slot, Refusal):
            raise CommandRenderError(slot.reason)
        if path not in names:
            names[path] = f"{ENV_PREFIX}{len(names) + 1}"
            env[names[path]] = value(path)
        return slot.reference(names[path])

    argv: list[str] = []
    shown: list[str] = []
    for arg in _plan(_key(command)):
        if "\0" in arg.template.text:
            raise CommandRenderError(_NUL)
        shown.append(arg.template.render(value))
        if arg.slots is None or arg.template.literal is not None:
            argv.append(shown[-1])
            continue
        slots = iter(arg.slots)
        argv.append("".join(p if isinstance(p, str) else reference(p.path, next(slots)) for p in arg.template.parts))
    if isinstance(command, str):
        return RenderedCommand(["sh", "-c", argv[0]], env, shown[0])
    return RenderedCommand(argv, env, shown)


def _key(command: Command) -> str | tuple[str, ...]:
    return command if isinstance(command, str) else tuple(command)


def command_references(command: Command) -> frozenset[Path]:
    """Every path a command's placeholders read, for the loader's reference checks."""
    if isinstance(command, str):
        return parse_template(command).references
    return frozenset().union(*(parse_template(arg).references for arg in command))
