"""Drills: what a step does instead of its real action, and the facilitator's injects.

Outcomes are drawn from a generator seeded by (seed, step, attempt), not from one shared
stream, so a drill repeats exactly whatever order people act in.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from warroom.runbook.durations import DurationError, parse_duration
from warroom.runbook.errors import Location, Problem, RunbookError
from warroom.runbook.model import Runbook, Step
from warroom.runbook.plan import step_estimate
from warroom.runbook.yaml_source import LocDict, LocList, load_yaml, read_text


@dataclass(frozen=True)
class DrillOutcome:
    duration_s: float
    succeeded: bool
    outputs: dict[str, Any]
    stdout: str


def outcome(step: Step, attempt: int, seed: int, *, force_fail: bool = False,
            slow_by: float = 0.0) -> DrillOutcome:
    drill = step.drill
    if drill is None:  # nothing to draw: no generator to seed
        duration, fails, outputs, stdout = step_estimate(step), force_fail, {}, ""
    else:
        digest = hashlib.sha256(f"{seed}:{step.id}:{attempt}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))
        duration = rng.uniform(*drill.duration_s) if drill.duration_s is not None else step_estimate(step)
        roll = rng.random()
        fails = force_fail or attempt in drill.fail_attempts or roll < drill.fail
        outputs, stdout = dict(drill.outputs), drill.stdout or ""
    for spec in step.outputs:
        outputs.setdefault(spec.name, None)
    return DrillOutcome(round(duration + slow_by, 3), not fails, outputs, stdout)


class InjectKind(str, Enum):
    FAIL = "fail"
    CLAIM = "claim"
    NOTE = "note"
    SLOW = "slow"


@dataclass(frozen=True)
class Inject:
    at_s: float
    kind: InjectKind
    step: str | None = None
    resource: str | None = None
    by: str | None = None
    for_s: float | None = None
    text: str | None = None
    slow_s: float = 0.0

    def describe(self) -> dict[str, Any]:
        """The inject as journaled in drill.inject."""
        data: dict[str, Any] = {"kind": self.kind.value, "at_s": self.at_s}
        for key in ("resource", "by", "for_s", "text"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.kind is InjectKind.SLOW:
            data["slow_s"] = self.slow_s
        return data

    def planned(self) -> dict[str, Any]:
        """The inject as run.started keeps it, so `resume` still fires the ones not yet due."""
        return {**self.describe(), **({"step": self.step} if self.step is not None else {})}

    @classmethod
    def from_planned(cls, data: dict[str, Any]) -> Inject:
        return cls(
            at_s=float(data["at_s"]), kind=InjectKind(data["kind"]), step=data.get("step"),
            resource=data.get("resource"), by=data.get("by"), for_s=data.get("for_s"),
            text=data.get("text"), slow_s=float(data.get("slow_s", 0.0)),
        )


def load_injects(path: str | Path, runbook: Runbook) -> list[Inject]:
    """The injects of a `--inject` file, in time order; RunbookError lists every problem."""
    filename = str(path)
    text = read_text(path, "an inject file")
    document, problems = load_yaml(text, filename)
    if problems:
        raise RunbookError(problems)
    if not isinstance(document, LocList):
        raise RunbookError([Problem(Location(filename, 1, 1), "an inject file is a list: - {at: 5m, fail: step-id}")])
    injects: list[Inject] = []
    ids = set(runbook.step_ids)
    for i, item in enumerate(document):
        where = document.item_locs[i]
        try:
            injects.append(_inject(item, ids))
        except ValueError as exc:
            problems.append(Problem(where, str(exc)))
    if problems:
        raise RunbookError(problems)
    return sorted(injects, key=lambda inj: inj.at_s)


def _inject(item: Any, ids: set[str]) -> Inject:
    if not isinstance(item, LocDict) or "at" not in item:
        raise ValueError("an inject is {at: 5m, fail|claim|note|slow: ...}")
    try:
        at = parse_duration(item["at"])
    except DurationError as exc:
        raise ValueError(f"at: {exc}") from None
    kinds = [k for k in InjectKind if k.value in item]
    extra = set(item) - {"at"} - {k.value for k in InjectKind}
    if len(kinds) != 1 or extra:
        raise ValueError("an inject has at and exactly one of fail, claim, note, slow")
    kind = kinds[0]
    body = item[kind.value]
    if kind is InjectKind.FAIL:
        if not isinstance(body, str):
            raise ValueError("fail: give the id of the step to fail, like fail: stop-app")
        if body not in ids:
            raise ValueError(f"fail: unknown step {body!r}")
        return Inject(at, kind, step=body)
    if kind is InjectKind.NOTE:
        return Inject(at, kind, text=str(body))
    if kind is InjectKind.CLAIM:
        if not isinstance(body, dict) or "resource" not in body:
            raise ValueError("claim: {resource: name, by: person, for: 10m}")
        for_s = parse_duration(body["for"]) if "for" in body else None
        return Inject(at, kind, resource=str(body["resource"]), by=str(body.get("by", "drill")), for_s=for_s)
    if not isinstance(body, dict) or not isinstance(body.get("step"), str) or body["step"] not in ids or "by" not in body:
        raise ValueError("slow: {step: known-step-id, by: 3m}")
    return Inject(at, kind, step=body["step"], slow_s=parse_duration(body["by"]))
