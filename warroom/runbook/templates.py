"""`{{ path }}` placeholders in commands and texts, filled so data never becomes a command.

A string command runs under `sh -c`, so every value substituted into it is shell-quoted: a
service name like `web; rm -rf /` stays one word. An argv command is never parsed by a shell,
so a value is inserted as is and stays inside the one argument that holds it. Because values
are quoted as whole words, write `systemctl stop {{ vars.service }}`, not `"{{ vars.service }}"`
(inside quotes the quoting characters would become part of the word).
"""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import dataclass
from typing import Any

from warroom.runbook.expressions import ExpressionError, Path, Resolver, parse_path

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

    def render(self, resolve: Resolver, *, quote: bool) -> str:
        """The text with each placeholder's value; `quote` shell-quotes every value."""
        pieces: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
            else:
                value = value_text(resolve(part.path))
                pieces.append(shlex.quote(value) if quote else value)
        return "".join(pieces)


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


def render_command(command: str | tuple[str, ...] | list[str], resolve: Resolver) -> list[str]:
    """The argv to execute: a string becomes `sh -c` with quoted values, a list stays an argv."""
    if isinstance(command, str):
        return ["sh", "-c", parse_template(command).render(resolve, quote=True)]
    return [parse_template(arg).render(resolve, quote=False) for arg in command]


def command_references(command: str | tuple[str, ...] | list[str]) -> frozenset[Path]:
    """Every path a command's placeholders read, for the loader's reference checks."""
    if isinstance(command, str):
        return parse_template(command).references
    return frozenset().union(*(parse_template(arg).references for arg in command))
