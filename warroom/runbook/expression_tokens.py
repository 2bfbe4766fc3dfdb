"""Reading an expression's text into tokens, one at a time, each with its offset.

The tokenizer is hand-written so that every mistake a runbook author makes (`=` for `==`,
`&&`, `True`, an unterminated string) is reported where it is, in the author's terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator

from warroom.runbook.expression_tree import ExpressionError

KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
LITERAL_KEYWORDS = {"true": True, "false": False, "null": None}
_PYTHON_SPELLINGS = {"True": "true", "False": "false", "None": "null"}
PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_WORD = re.compile(r"[A-Za-z0-9_.-]+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, path, keyword, op, ( ) [ ] , or end
    text: str
    offset: int
    value: Any = None


def tokenize(text: str) -> Iterator[Token]:
    """Tokens on demand, so the parser reports the first problem in reading order."""
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "()[],":
            token, pos = Token(char, char, pos), pos + 1
        elif char in "=!<>":
            token, pos = _read_operator(text, pos)
        elif char in "&|":
            doubled = text[pos : pos + 2]
            spelled = "and" if char == "&" else "or"
            raise ExpressionError(f"unknown operator {doubled!r}; did you mean '{spelled}'?", pos)
        elif char in "'\"":
            token, pos = _read_string(text, pos)
        elif number := _NUMBER.match(text, pos):
            token, pos = _read_number(text, number)
        elif name := PATH.match(text, pos):
            token, pos = _read_name(text, name)
        else:
            raise ExpressionError(f"unexpected character {char!r}", pos)
        yield token
    yield Token("end", "end of expression", len(text))


def _read_operator(text: str, pos: int) -> tuple[Token, int]:
    char = text[pos]
    has_equals = text[pos + 1 : pos + 2] == "="
    if char == "=" and not has_equals:
        raise ExpressionError("unknown operator '='; did you mean '=='?", pos)
    if char == "!" and not has_equals:
        raise ExpressionError("unknown operator '!'; did you mean '!=' or 'not'?", pos)
    op = char + "=" if has_equals else char
    return Token("op", op, pos), pos + len(op)


def _read_string(text: str, pos: int) -> tuple[Token, int]:
    quote = text[pos]
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return Token("string", text[pos : index + 1], pos, "".join(chars)), index + 1
        if char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            chars.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
        else:
            chars.append(char)
            index += 1
    raise ExpressionError(f"unterminated string: add the closing {quote}", pos)


def _read_number(text: str, match: re.Match[str]) -> tuple[Token, int]:
    pos, end = match.span()
    if _NAME_CHAR.match(text, end):
        word = _WORD.match(text, pos)
        raise ExpressionError(
            f"invalid number {word.group() if word else match.group()!r} "
            "(a path must start with a name such as vars or steps)",
            pos,
        )
    literal = match.group()
    is_integer = not any(c in literal for c in ".eE")
    return Token("number", literal, pos, int(literal) if is_integer else float(literal)), end


def _read_name(text: str, match: re.Match[str]) -> tuple[Token, int]:
    pos, end = match.span()
    word = match.group()
    if text[end : end + 1] == ".":
        raise ExpressionError(f"expected a name after '{word}.'", end + 1)
    if word in _PYTHON_SPELLINGS:
        raise ExpressionError(f"unknown name {word!r}; write {_PYTHON_SPELLINGS[word]!r}", pos)
    kind = "keyword" if word in KEYWORDS else "path"
    return Token(kind, word, pos, tuple(word.split("."))), end
