"""The small language of `when`, `until` and `decide`: read paths, compare, combine.

Runbooks come from many hands and are run with production credentials, so their conditions
are parsed by a hand-written tokenizer and recursive-descent parser, never by Python's
`eval`: a condition can only read values through the `resolve` callback it is given. Values
captured from command output arrive as text, so comparisons coerce numeric text to numbers
(`steps.cpu.outputs.pct > 80` works with "93"), and "true"/"false" text equals the booleans.

Precedence, loosest first: `or`, `and`, `not`, comparisons (`== != < <= > >= in`, `not in`),
then operands (literals, paths, `[lists]`, parentheses). As in Python, `not a == b` means
`not (a == b)`. Comparisons do not chain: `a < b < c` is an error that says to use `and`.
"""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

Path = tuple[str, ...]
Resolver = Callable[[Path], Any]

MAX_LENGTH = 4096
MAX_DEPTH = 64

_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null"})
_LITERAL_KEYWORDS = {"true": True, "false": False, "null": None}
_PYTHON_SPELLINGS = {"True": "true", "False": "false", "None": "null"}
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_.-]")
_WORD = re.compile(r"[A-Za-z0-9_.-]+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_COMPARISONS = frozenset({"==", "!=", *_ORDERINGS})


class ExpressionError(ValueError):
    """An expression that cannot be read or evaluated; `offset` is 0-based into its text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def truthy(value: Any) -> bool:
    """Whether a value counts as true; "false" and "0" are false because outputs are text."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0")
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (list, tuple, dict)):
        return len(value) > 0
    return True


def parse_path(text: str) -> Path:
    """A dotted path such as `steps.stop-app.outputs.pid`, or ExpressionError."""
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    match = _PATH.fullmatch(stripped)
    if match is None or stripped in _KEYWORDS:
        raise ExpressionError(
            f"expected a single path like vars.name or steps.<id>.status, got {stripped!r}", offset
        )
    return tuple(stripped.split("."))


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, path, keyword, op, ( ) [ ] , or end
    text: str
    offset: int
    value: Any = None


def _tokenize(text: str) -> Iterator[_Token]:
    """Tokens on demand, so the parser reports the first problem in reading order."""
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "()[],":
            token, pos = _Token(char, char, pos), pos + 1
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
        elif name := _PATH.match(text, pos):
            token, pos = _read_name(text, name)
        else:
            raise ExpressionError(f"unexpected character {char!r}", pos)
        yield token
    yield _Token("end", "end of expression", len(text))


def _read_operator(text: str, pos: int) -> tuple[_Token, int]:
    char = text[pos]
    has_equals = text[pos + 1 : pos + 2] == "="
    if char == "=" and not has_equals:
        raise ExpressionError("unknown operator '='; did you mean '=='?", pos)
    if char == "!" and not has_equals:
        raise ExpressionError("unknown operator '!'; did you mean '!=' or 'not'?", pos)
    op = char + "=" if has_equals else char
    return _Token("op", op, pos), pos + len(op)


def _read_string(text: str, pos: int) -> tuple[_Token, int]:
    quote = text[pos]
    chars: list[str] = []
    index = pos + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return _Token("string", text[pos : index + 1], pos, "".join(chars)), index + 1
        if char == "\\" and index + 1 < len(text):
            escaped = text[index + 1]
            chars.append(_ESCAPES.get(escaped, "\\" + escaped))
            index += 2
        else:
            chars.append(char)
            index += 1
    raise ExpressionError(f"unterminated string: add the closing {quote}", pos)


def _read_number(text: str, match: re.Match[str]) -> tuple[_Token, int]:
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
    return _Token("number", literal, pos, int(literal) if is_integer else float(literal)), end


def _read_name(text: str, match: re.Match[str]) -> tuple[_Token, int]:
    pos, end = match.span()
    word = match.group()
    if text[end : end + 1] == ".":
        raise ExpressionError(f"expected a name after '{word}.'", end + 1)
    if word in _PYTHON_SPELLINGS:
        raise ExpressionError(f"unknown name {word!r}; write {_PYTHON_SPELLINGS[word]!r}", pos)
    kind = "keyword" if word in _KEYWORDS else "path"
    return _Token(kind, word, pos, tuple(word.split("."))), end


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any

    def evaluate(self, resolve: Resolver) -> Any:
        return self.value


@dataclass(frozen=True)
class _PathRef:
    path: Path

    def evaluate(self, resolve: Resolver) -> Any:
        return resolve(self.path)


@dataclass(frozen=True)
class _List:
    items: tuple[_Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return [item.evaluate(resolve) for item in self.items]


@dataclass(frozen=True)
class _Not:
    operand: _Node

    def evaluate(self, resolve: Resolver) -> Any:
        return not truthy(self.operand.evaluate(resolve))


@dataclass(frozen=True)
class _And:
    operands: tuple[_Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return all(truthy(o.evaluate(resolve)) for o in self.operands)


@dataclass(frozen=True)
class _Or:
    operands: tuple[_Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return any(truthy(o.evaluate(resolve)) for o in self.operands)


@dataclass(frozen=True)
class _Compare:
    op: str  # one of _COMPARISONS, "in" or "not in"
    left: _Node
    right: _Node
    offset: int

    def evaluate(self, resolve: Resolver) -> Any:
        left = self.left.evaluate(resolve)
        right = self.right.evaluate(resolve)
        if self.op == "==":
            return _equal(left, right)
        if self.op == "!=":
            return not _equal(left, right)
        if self.op == "in":
            return _member(left, right, self.offset)
        if self.op == "not in":
            return not _member(left, right, self.offset)
        return _order(self.op, left, right, self.offset)


_Node = _Literal | _PathRef | _List | _Not | _And | _Or | _Compare


# --- comparison semantics -------------------------------------------------------------------


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and _NUMERIC_TEXT.fullmatch(value):
        try:
            return int(value)
        except ValueError:
            return float(value)
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, bool) or isinstance(right, bool):
        as_bool = _as_bool(left)
        return as_bool is not None and as_bool == _as_bool(right)
    if isinstance(left, (int, float)) or isinstance(right, (int, float)):
        left_number, right_number = _as_number(left), _as_number(right)
        return left_number is not None and left_number == right_number
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(map(_equal, left, right))
    return bool(left == right)


def _order(op: str, left: Any, right: Any, offset: int) -> bool:
    """Numbers (or numeric text) compare as numbers, other text as text; nothing else orders."""
    if left is None or right is None:
        return False
    left_number, right_number = _as_number(left), _as_number(right)
    if left_number is not None and right_number is not None:
        return _ORDERINGS[op](left_number, right_number)
    if isinstance(left, str) and isinstance(right, str):
        return _ORDERINGS[op](left, right)
    raise ExpressionError(
        f"cannot compare {_describe(left)} with {_describe(right)} using '{op}'", offset
    )


def _member(item: Any, container: Any, offset: int) -> bool:
    if container is None or item is None:
        return False
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return str(item) in container
        raise ExpressionError(f"cannot look for {_describe(item)} inside text", offset)
    if isinstance(container, (list, tuple)):
        return any(_equal(item, element) for element in container)
    if isinstance(container, dict):
        return any(_equal(item, key) for key in container)
    raise ExpressionError(
        f"'in' needs a list or text on its right, got {_describe(container)}", offset
    )


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


# --- parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.source = _tokenize(text)
        self.tokens: list[_Token] = []
        self.pos = 0
        self.depth = 0
        self.references: set[Path] = set()

    def parse(self) -> _Node:
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            raise self._trailing(token)
        return node

    def _peek(self, ahead: int = 0) -> _Token:
        while len(self.tokens) <= self.pos + ahead:
            if self.tokens and self.tokens[-1].kind == "end":
                break
            self.tokens.append(next(self.source))
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def _next(self) -> _Token:
        token = self._peek()
        self.pos += 1
        return token

    def _is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == "keyword" and token.text == word

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels", token.offset)

    def _or(self) -> _Node:
        operands = [self._and()]
        while self._is_keyword("or"):
            self._next()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else _Or(tuple(operands))

    def _and(self) -> _Node:
        operands = [self._not()]
        while self._is_keyword("and"):
            self._next()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else _And(tuple(operands))

    def _not(self) -> _Node:
        if not self._is_keyword("not"):
            return self._comparison()
        token = self._next()
        self._enter(token)
        operand = self._not()
        self.depth -= 1
        return _Not(operand)

    def _comparison(self) -> _Node:
        left = self._operand()
        token = self._peek()
        if token.kind == "op":
            op = token.text
            self._next()
        elif self._is_keyword("in"):
            op = "in"
            self._next()
        elif self._is_keyword("not") and self._is_keyword("in", ahead=1):
            op = "not in"
            self._next()
            self._next()
        else:
            return left
        right = self._operand()
        following = self._peek()
        if following.kind == "op" or self._is_keyword("in"):
            raise ExpressionError(
                f"comparisons cannot be chained: join them with 'and' before {following.text!r}",
                following.offset,
            )
        return _Compare(op, left, right, token.offset)

    def _operand(self) -> _Node:
        before = self.tokens[self.pos - 1] if self.pos > 0 else None
        token = self._next()
        if token.kind in ("number", "string"):
            return _Literal(token.value)
        if token.kind == "keyword" and token.text in _LITERAL_KEYWORDS:
            return _Literal(_LITERAL_KEYWORDS[token.text])
        if token.kind == "path":
            self.references.add(token.value)
            return _PathRef(token.value)
        if token.kind == "(":
            self._enter(token)
            inner = self._or()
            closing = self._next()
            if closing.kind != ")":
                raise ExpressionError(
                    f"expected ')' to close the '(' at column {token.offset + 1}, "
                    f"found {_shown(closing)}",
                    closing.offset,
                )
            self.depth -= 1
            return inner
        if token.kind == "[":
            self._enter(token)
            items = self._list_items(token)
            self.depth -= 1
            return _List(items)
        where = f"after {before.text!r}" if before is not None else "at the start"
        found = "" if token.kind == "end" else f", found {_shown(token)}"
        raise ExpressionError(f"expected an operand {where}{found}", token.offset)

    def _list_items(self, opening: _Token) -> tuple[_Node, ...]:
        items: list[_Node] = []
        if self._peek().kind == "]":
            self._next()
            return ()
        while True:
            items.append(self._operand())
            separator = self._next()
            if separator.kind == "]":
                return tuple(items)
            if separator.kind != ",":
                raise ExpressionError(
                    f"expected ',' or ']' in the list opened at column {opening.offset + 1}, "
                    f"found {_shown(separator)}",
                    separator.offset,
                )

    def _trailing(self, token: _Token) -> ExpressionError:
        if token.kind == ")":
            return ExpressionError("unexpected ')' with no matching '('", token.offset)
        if token.kind == "(":
            return ExpressionError(
                "unexpected '(': expressions cannot call functions", token.offset
            )
        return ExpressionError(
            "expected 'and', 'or', a comparison or the end of the expression, "
            f"found {_shown(token)}",
            token.offset,
        )


def _shown(token: _Token) -> str:
    return token.text if token.kind == "end" else repr(token.text)


# --- public entry point ---------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A parsed condition: what it reads (`references`) and how to evaluate it."""

    text: str
    references: frozenset[Path]
    _root: _Node = field(repr=False, compare=False)

    def evaluate(self, resolve: Resolver) -> Any:
        """The value; `resolve` returns a path's value, or None when it has none yet.

        Raises ExpressionError when values cannot be compared (text with a number using `<`)."""
        return self._root.evaluate(resolve)

    def test(self, resolve: Resolver) -> bool:
        """Whether the condition holds, by `truthy` of its value."""
        return truthy(self.evaluate(resolve))


@functools.lru_cache(maxsize=1024)
def parse_expression(text: str) -> Expression:
    """Parse a condition; ExpressionError says what was expected and where."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression must be text, got {_describe(text)}", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("expression is empty", 0)
    parser = _Parser(text)
    root = parser.parse()
    return Expression(text, frozenset(parser.references), root)
