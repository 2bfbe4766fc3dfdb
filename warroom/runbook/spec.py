"""The runbook format as data: which keys each object takes and what type each value has.

The loader checks documents against these tables and `warroom schema` renders them as JSON
Schema, so the validator and the editors' completion can never disagree.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from warroom.runbook.durations import DurationError, parse_duration

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_DURATION_SCHEMA = {
    "oneOf": [
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?(ms|s|m|h|d)\s*)+$"},
        {"type": "number", "minimum": 0},
    ]
}


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Type:
    """One kind of value: `problem` says what is wrong with a value, `schema` describes it."""

    def problem(self, value: Any) -> str | None:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Str(Type):
    pattern: str | None = None
    what: str = "a string"

    def problem(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return f"expected {self.what}, got {_type_name(value)}"
        if self.pattern and not re.match(self.pattern, value):
            return f"expected {self.what}, got {value!r}"
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", **({"pattern": self.pattern} if self.pattern else {})}


@dataclass(frozen=True)
class Bool(Type):
    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"expected true or false, got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Int(Type):
    minimum: int = 0

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a whole number, got {_type_name(value)}"
        if value < self.minimum:
            return f"expected a whole number of at least {self.minimum}, got {value}"
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum}


@dataclass(frozen=True)
class Number(Type):
    minimum: float | None = None
    maximum: float | None = None

    def problem(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {_type_name(value)}"
        if not math.isfinite(value):
            return f"expected a finite number, got {value}"
        if self.minimum is not None and value < self.minimum:
            return f"expected a number of at least {self.minimum:g}, got {value}"
        if self.maximum is not None and value > self.maximum:
            return f"expected a number of at most {self.maximum:g}, got {value}"
        return None

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True)
class Duration(Type):
    def problem(self, value: Any) -> str | None:
        try:
            parse_duration(value)
        except DurationError as exc:
            return str(exc)
        return None

    def schema(self) -> dict[str, Any]:
        return dict(_DURATION_SCHEMA)


@dataclass(frozen=True)
class DurationRange(Type):
    """`[2m, 4m]` or a single duration."""

    def problem(self, value: Any) -> str | None:
        items = value if isinstance(value, list) else [value]
        if isinstance(value, list) and len(value) != 2:
            return "expected a duration or a range [low, high]"
        for item in items:
            try:
                parse_duration(item)
            except DurationError as exc:
                return str(exc)
        if isinstance(value, list) and parse_duration(value[0]) > parse_duration(value[1]):
            return "a duration range is written [low, high]"
        return None

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [dict(_DURATION_SCHEMA), {"type": "array", "items": dict(_DURATION_SCHEMA), "minItems": 2, "maxItems": 2}]}


@dataclass(frozen=True)
class Choice(Type):
    values: tuple[str, ...]

    def problem(self, value: Any) -> str | None:
        if value in self.values:
            return None
        return f"expected one of {', '.join(self.values)}, got {value!r}"

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class QuorumType(Type):
    def problem(self, value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return None
        if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?%", value.strip()):
            if 0 < float(value.strip()[:-1]) <= 100:
                return None
        return f'expected a count (2) or a percentage ("60%"), got {value!r}'

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": r"^\d+(\.\d+)?%$"}]}


@dataclass(frozen=True)
class Command(Type):
    """A string for `sh -c`, or a list for an exec argv."""

    def problem(self, value: Any) -> str | None:
        if isinstance(value, str):
            return None if value.strip() else "a command cannot be empty"
        if isinstance(value, list):
            if not value:
                return "a command list cannot be empty"
            if all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
                return None
        return f"expected a command (a string, or a list of arguments), got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": ["string", "number"]}, "minItems": 1}]}


@dataclass(frozen=True)
class ListOf(Type):
    item: Type
    what: str = "a list"

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, list) else f"expected {self.what}, got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "items": self.item.schema()}


@dataclass(frozen=True)
class MapOf(Type):
    """A mapping with free keys (vars, roles, threads, outputs)."""

    value: Type
    key_pattern: str | None = None

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, dict) else f"expected a mapping, got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "object", "additionalProperties": self.value.schema()}
        if self.key_pattern:
            out["propertyNames"] = {"pattern": self.key_pattern}
        return out


@dataclass(frozen=True)
class Scalar(Type):
    def problem(self, value: Any) -> str | None:
        if value is None or isinstance(value, (str, int, float, bool)):
            return None
        return f"expected a plain value (text, number or boolean), got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        return {"type": ["string", "number", "boolean", "null"]}


@dataclass(frozen=True)
class Anything(Type):
    def problem(self, value: Any) -> str | None:
        return None

    def schema(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class Obj(Type):
    """A mapping with a fixed set of keys; unknown keys are errors with a suggestion."""

    name: str
    fields: dict[str, tuple[Type, str]] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()  # exactly one of these keys must be present

    def problem(self, value: Any) -> str | None:
        return None if isinstance(value, dict) else f"expected a mapping ({self.name}), got {_type_name(value)}"

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                key: {**typ.schema(), "description": doc} for key, (typ, doc) in self.fields.items()
            },
        }
        if self.required:
            out["required"] = list(self.required)
        if self.one_of:
            out["oneOf"] = [{"required": [k]} for k in self.one_of]
        return out


MODES = ("linear", "parallel")
POLICIES = ("fail-fast", "continue", "quorum")
STEP_KINDS = ("run", "check", "manual", "approval", "decide", "wait", "escalate")

BRANCH = Obj(
    "decide branch",
    {
        "when": (Str(what="an expression"), "condition; the first true branch is taken"),
        "then": (ListOf(Str(ID_PATTERN, "a step id")), "step ids run when this branch is taken"),
        "else": (ListOf(Str(ID_PATTERN, "a step id")), "step ids run when no branch matched"),
    },
)

OUTPUT = Obj(
    "output",
    {
        "regex": (Str(what="a regular expression"), "capture group 1 (or the whole match) of stdout"),
        "json": (Str(what="a dotted JSON path"), "dotted path into stdout parsed as JSON"),
    },
    one_of=("regex", "json"),
)

RETRIES = Obj(
    "retries",
    {
        "count": (Int(0), "how many times to retry after the first attempt"),
        "delay": (Duration(), "delay before the first retry"),
        "backoff": (Number(minimum=1), "multiplier applied to the delay after each retry"),
    },
)

DRILL = Obj(
    "drill",
    {
        "duration": (DurationRange(), "how long the step takes in a drill: a duration or [low, high]"),
        "fail": (Number(0, 1), "probability that an attempt fails"),
        "fail_attempts": (ListOf(Int(1)), "attempts (1-based) that fail for sure"),
        "outputs": (MapOf(Anything()), "outputs the step reports in a drill"),
        "stdout": (Str(), "output the step prints in a drill"),
    },
)

STEP = Obj(
    "step",
    {
        "id": (Str(ID_PATTERN, "a step id (letters, digits, - and _)"), "unique step id"),
        "title": (Str(), "short human title"),
        "description": (Str(), "longer notes for people"),
        "thread": (Str(ID_PATTERN, "a thread id"), "the lane this step belongs to"),
        "run": (Command(), "command: a string runs under sh -c, a list is an exec argv"),
        "check": (Command(), "read-only command (verification, probe); always safe to re-run"),
        "manual": (Str(), "instructions for a person; done when an operator marks it"),
        "approval": (Str(), "the question the commander must approve"),
        "decide": (ListOf(BRANCH, "a list of branches"), "adaptive branching: [{when, then}, ..., {else}]"),
        "wait": (Duration(), "wait this long (a cluster rebalancing, a cache expiring)"),
        "escalate": (Str(), "who is paged; the step then waits for an operator"),
        "until": (Str(what="an expression"), "check: poll until this expression is true"),
        "interval": (Duration(), "check with until: time between polls"),
        "four_eyes": (Bool(), "approval: the run's starter may not approve"),
        "approvers": (ListOf(Str()), "approval: the people who may answer"),
        "on_timeout": (Choice(("escalate", "reject")), "approval: what happens at the timeout"),
        "notify": (Command(), "escalate: command that pages"),
        "undo": (Command(), "compensation, run by rollback"),
        "needs": (ListOf(Str(ID_PATTERN, "a step id")), "step ids that must finish first"),
        "locks": (ListOf(Str(r"^[A-Za-z0-9][A-Za-z0-9_./-]*(:shared)?$", "a lock name, optionally name:shared")), "resources held while running"),
        "timeout": (Duration(), "the step fails after this long"),
        "retries": (RETRIES, "retry policy"),
        "estimate": (Duration(), "expected duration, for plan and drills"),
        "idempotent": (Bool(), "safe to re-run after a crash"),
        "outputs": (MapOf(OUTPUT, ID_PATTERN), "named values captured from stdout"),
        "when": (Str(what="an expression"), "guard; false means the step is skipped"),
        "drill": (DRILL, "what the step does in a drill"),
    },
    required=("id",),
    one_of=STEP_KINDS,
)

THREAD = Obj(
    "thread",
    {
        "title": (Str(), "panel title"),
        "owner": (Str(), "who drives this lane"),
    },
)

PHASE = Obj(
    "phase",
    {
        "id": (Str(ID_PATTERN, "a phase id"), "unique phase id"),
        "title": (Str(), "short human title"),
        "mode": (Choice(MODES), "linear or parallel (default parallel)"),
        "on_failure": (Choice(POLICIES), "failure policy for this phase"),
        "quorum": (QuorumType(), "with on_failure: quorum, a count or a percentage"),
        "when": (Str(what="an expression"), "guard read as the phase comes up (phases.ID.status of an earlier phase); false skips its steps"),
        "steps": (ListOf(STEP, "a list of steps"), "the steps of this phase"),
    },
    required=("id", "steps"),
)

RUNBOOK = Obj(
    "runbook",
    {
        "runbook": (Str(ID_PATTERN, "a runbook id"), "id; defaults to the file name"),
        "title": (Str(), "human title"),
        "description": (Str(), "what this runbook is for"),
        "mode": (Choice(MODES), "linear or parallel (default parallel)"),
        "max_parallel": (Int(1), "cap on steps running at once"),
        "on_failure": (Choice(POLICIES), "fail-fast, continue or quorum (default fail-fast)"),
        "quorum": (QuorumType(), "with on_failure: quorum, a count or a percentage"),
        "deadline": (Duration(), "past it the run escalates"),
        "vars": (MapOf(Scalar(), ID_PATTERN), "defaults; override with --var name=value"),
        "secrets": (ListOf(Str(ENV_NAME_PATTERN, "an environment variable name")), "env var names never journaled, shown or exported"),
        "roles": (MapOf(Str()), "person -> role; commanders approve"),
        "threads": (MapOf(THREAD, ID_PATTERN), "lanes; one console panel each"),
        "steps": (ListOf(STEP, "a list of steps"), "the steps (or use phases)"),
        "phases": (ListOf(PHASE, "a list of phases"), "hybrid runbooks: phases run one after another"),
    },
)


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the runbook format, for YAML language servers."""
    schema = RUNBOOK.schema()
    schema["oneOf"] = [{"required": ["steps"]}, {"required": ["phases"]}]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://warroom.invalid/runbook.schema.json",
        "title": "warroom runbook",
        "description": "A recovery runbook for warroom: steps, what each needs, and how to run them.",
        **schema,
    }
