"""What an expression means once read: its syntax tree, and how the values it reads compare.

Values captured from command output arrive as text, so comparisons coerce numeric text to
numbers (`steps.cpu.outputs.pct > 80` works with "93"), and "true"/"false" text equals the
booleans; nothing else is coerced, and what cannot be compared says so. The parser
(expressions.py) builds these nodes; evaluating one only reads values through `resolve`.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

Path = tuple[str, ...]
Resolver = Callable[[Path], Any]

_NUMERIC_TEXT = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")
_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


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


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiteralNode:
    value: Any

    def evaluate(self, resolve: Resolver) -> Any:
        return self.value


@dataclass(frozen=True)
class PathNode:
    path: Path

    def evaluate(self, resolve: Resolver) -> Any:
        return resolve(self.path)


@dataclass(frozen=True)
class ListNode:
    items: tuple[Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return [item.evaluate(resolve) for item in self.items]


@dataclass(frozen=True)
class NotNode:
    operand: Node

    def evaluate(self, resolve: Resolver) -> Any:
        return not truthy(self.operand.evaluate(resolve))


@dataclass(frozen=True)
class AndNode:
    operands: tuple[Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return all(truthy(o.evaluate(resolve)) for o in self.operands)


@dataclass(frozen=True)
class OrNode:
    operands: tuple[Node, ...]

    def evaluate(self, resolve: Resolver) -> Any:
        return any(truthy(o.evaluate(resolve)) for o in self.operands)


@dataclass(frozen=True)
class CompareNode:
    op: str  # ==, !=, one of _ORDERINGS, "in" or "not in"
    left: Node
    right: Node
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


Node = LiteralNode | PathNode | ListNode | NotNode | AndNode | OrNode | CompareNode


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
        f"cannot compare {describe(left)} with {describe(right)} using '{op}'", offset
    )


def _member(item: Any, container: Any, offset: int) -> bool:
    if container is None or item is None:
        return False
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        if isinstance(item, (int, float)) and not isinstance(item, bool):
            return str(item) in container
        raise ExpressionError(f"cannot look for {describe(item)} inside text", offset)
    if isinstance(container, (list, tuple)):
        return any(_equal(item, element) for element in container)
    if isinstance(container, dict):
        return any(_equal(item, key) for key in container)
    raise ExpressionError(
        f"'in' needs a list or text on its right, got {describe(container)}", offset
    )


def describe(value: Any) -> str:
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
