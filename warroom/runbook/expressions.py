"""The small language of `when`, `until` and `decide`: read paths, compare, combine.

Runbooks come from many hands and are run with production credentials, so their conditions
are parsed by a hand-written tokenizer and recursive-descent parser, never by Python's
`eval`: a condition can only read values through the `resolve` callback it is given. Values
captured from command output arrive as text, so comparisons coerce numeric text to numbers
(`steps.cpu.outputs.pct > 80` works with "93"), and "true"/"false" text equals the booleans.

Precedence, loosest first: `or`, `and`, `not`, comparisons (`== != < <= > >= in`, `not in`),
then operands (literals, paths, `[lists]`, parentheses). As in Python, `not a == b` means
`not (a == b)`. Comparisons do not chain: `a < b < c` is an error that says to use `and`.

This module is the language's face (the parser and what the rest of warroom imports); the
tokenizer is in expression_tokens.py, the syntax tree and how values compare in expression_tree.py.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from warroom.runbook.expression_tree import (
    AndNode,
    CompareNode,
    ExpressionError,
    ListNode,
    LiteralNode,
    Node,
    NotNode,
    OrNode,
    Path,
    PathNode,
    Resolver,
    describe,
    truthy,
)
from warroom.runbook.expression_tokens import KEYWORDS, LITERAL_KEYWORDS, PATH, Token, tokenize

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "Expression", "ExpressionError", "Path", "Resolver",
           "parse_expression", "parse_path", "truthy"]

MAX_LENGTH = 4096
MAX_DEPTH = 64


def parse_path(text: str) -> Path:
    """A dotted path such as `steps.stop-app.outputs.pid`, or ExpressionError."""
    stripped = text.strip()
    offset = len(text) - len(text.lstrip())
    match = PATH.fullmatch(stripped)
    if match is None or stripped in KEYWORDS:
        raise ExpressionError(
            f"expected a single path like vars.name or steps.<id>.status, got {stripped!r}", offset
        )
    return tuple(stripped.split("."))


# --- parser ---------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.source = tokenize(text)
        self.tokens: list[Token] = []
        self.pos = 0
        self.depth = 0
        self.references: set[Path] = set()

    def parse(self) -> Node:
        node = self._or()
        token = self._peek()
        if token.kind != "end":
            raise self._trailing(token)
        return node

    def _peek(self, ahead: int = 0) -> Token:
        while len(self.tokens) <= self.pos + ahead:
            if self.tokens and self.tokens[-1].kind == "end":
                break
            self.tokens.append(next(self.source))
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def _next(self) -> Token:
        token = self._peek()
        self.pos += 1
        return token

    def _is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self._peek(ahead)
        return token.kind == "keyword" and token.text == word

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"expression nests deeper than {MAX_DEPTH} levels", token.offset)

    def _or(self) -> Node:
        operands = [self._and()]
        while self._is_keyword("or"):
            self._next()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else OrNode(tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._is_keyword("and"):
            self._next()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else AndNode(tuple(operands))

    def _not(self) -> Node:
        if not self._is_keyword("not"):
            return self._comparison()
        token = self._next()
        self._enter(token)
        operand = self._not()
        self.depth -= 1
        return NotNode(operand)

    def _comparison(self) -> Node:
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
        return CompareNode(op, left, right, token.offset)

    def _operand(self) -> Node:
        before = self.tokens[self.pos - 1] if self.pos > 0 else None
        token = self._next()
        if token.kind in ("number", "string"):
            return LiteralNode(token.value)
        if token.kind == "keyword" and token.text in LITERAL_KEYWORDS:
            return LiteralNode(LITERAL_KEYWORDS[token.text])
        if token.kind == "path":
            self.references.add(token.value)
            return PathNode(token.value)
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
            return ListNode(items)
        where = f"after {before.text!r}" if before is not None else "at the start"
        found = "" if token.kind == "end" else f", found {_shown(token)}"
        raise ExpressionError(f"expected an operand {where}{found}", token.offset)

    def _list_items(self, opening: Token) -> tuple[Node, ...]:
        items: list[Node] = []
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

    def _trailing(self, token: Token) -> ExpressionError:
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


def _shown(token: Token) -> str:
    return token.text if token.kind == "end" else repr(token.text)


# --- public entry point ---------------------------------------------------------------------


@dataclass(frozen=True)
class Expression:
    """A parsed condition: what it reads (`references`) and how to evaluate it."""

    text: str
    references: frozenset[Path]
    _root: Node = field(repr=False, compare=False)

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
        raise ExpressionError(f"an expression must be text, got {describe(text)}", 0)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise ExpressionError("expression is empty", 0)
    parser = _Parser(text)
    root = parser.parse()
    return Expression(text, frozenset(parser.references), root)
