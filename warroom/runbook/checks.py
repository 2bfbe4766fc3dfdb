"""Where a runbook's checks live: every check that reports a problem without building the model.

The loader (loader.py) builds the typed Runbook; the checks it runs before, during and after
that are here, one section per pass, so a new check goes in the pass it belongs to:
1. shape: each object's keys and value types, from spec.py;
2. the model's own (duplicate step ids; the rest of pass 2 builds the model and reports as it
   goes, in loader.py);
3. the graph: needs and decide branches name real steps, no cycles;
4. expressions and templates: their syntax, what they refer to, commands they cannot make safe.
Each reports a Problem with its file:line:col and goes on, so one mistake does not hide the others.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

from warroom.runbook import graph, spec
from warroom.runbook.errors import Location, Problem
from warroom.runbook.expressions import ExpressionError, parse_expression
from warroom.runbook.gates import unanswerable_gates
from warroom.runbook.model import Phase, Runbook, Step, StepKind
from warroom.runbook.templates import TemplateError, command_problems, parse_template
from warroom.runbook.yaml_source import LocDict, LocList

_COMMAND_KEYS = ("run", "check", "undo", "notify")
STEP_FIELDS = ("status", "exit_code", "duration", "attempts", "outputs")


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def _parses(text: str) -> bool:
    try:
        parse_template(text)
    except TemplateError:
        return False
    return True


def _where(container: LocDict | LocList, key: Any) -> Location:
    found: Location = container.value_locs.get(key, container.loc) if isinstance(container, LocDict) else container.item_locs[key]
    return found


class Checker:
    """The problems found so far in one file, and the checks that add to them; the loader's
    builder is one, and reads the step locations it records as it builds."""

    def __init__(self, filename: str, text: str, problems: list[Problem]) -> None:
        self.filename = filename
        self.lines = text.splitlines()
        self.problems = list(problems)
        self.step_locs: dict[str, LocDict] = {}
        self.id_columns: dict[int, int] = {}
        self.phase_locs: dict[str, LocDict] = {}

    def problem(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))

    # pass 1: shape -------------------------------------------------------------------------
    def check_shape(self, value: Any, typ: spec.Type, where: Location) -> bool:
        """Report type problems; drop bad values so later passes only see well-typed data."""
        message = typ.problem(value)
        if message:
            self.problem(where, message)
            return False
        if isinstance(typ, spec.Obj) and isinstance(value, LocDict):
            for key in list(value):
                if key not in typ.fields:
                    hint = did_you_mean(str(key), typ.fields)
                    self.problem(value.key_locs[key], f"unknown key {key!r} in {typ.name}{hint}")
                    del value[key]
                    continue
                if not self.check_shape(value[key], typ.fields[key][0], value.value_locs[key]):
                    del value[key]
            missing = [k for k in typ.required if k not in value]
            for key in missing:
                self.problem(value.loc, f"{typ.name} is missing {key!r}")
            return not missing
        if isinstance(typ, spec.ListOf) and isinstance(value, LocList):
            keep = [self.check_shape(item, typ.item, value.item_locs[i]) for i, item in enumerate(value)]
            for i in reversed(range(len(value))):
                if not keep[i]:
                    del value[i]
                    del value.item_locs[i]
        if isinstance(typ, spec.MapOf) and isinstance(value, LocDict):
            for key in list(value):
                if typ.key_pattern and not (isinstance(key, str) and re.match(typ.key_pattern, key)):
                    self.problem(value.key_locs[key], f"bad name {key!r}: use letters, digits, - and _")
                    del value[key]
                elif not self.check_shape(value[key], typ.value, value.value_locs[key]):
                    del value[key]
        return True
    # pass 2: the model's own checks ---------------------------------------------------------
    def check_ids(self, steps: list[Step]) -> None:
        first_line: dict[str, int] = {}
        for s in steps:
            if s.id in first_line:
                where = Location(self.filename, s.line, self.id_columns[s.line])
                self.problem(where, f"duplicate step id {s.id!r} (first at line {first_line[s.id]})")
            else:
                first_line[s.id] = s.line
    # pass 3: graph -------------------------------------------------------------------------
    def check_targets(self, steps: list[Step], phases: list[Phase]) -> None:
        """Every id named in needs and decide branches exists, once, and not in a later phase."""
        ids = {s.id for s in steps}
        phase_index = {p.id: i for i, p in enumerate(phases)}
        phase_of = {s.id: s.phase for s in steps}
        named_by: dict[str, str] = {}
        for s in steps:
            raw = self.step_locs[s.id]
            for i, need in enumerate(s.needs):
                where = raw["needs"].item_locs[i]
                if need not in ids:
                    self.problem(where, f"unknown step {need!r} in needs of {s.id!r}{did_you_mean(need, ids)}")
                elif s.phase and phase_index[phase_of[need] or ""] > phase_index[s.phase]:
                    self.problem(where, f"{s.id!r} needs {need!r}, which is in a later phase")
            for b_index, branch in enumerate(s.branches):
                item = raw["decide"][b_index]
                key = "then" if branch.when is not None else "else"
                for j, target in enumerate(branch.then):
                    where = item[key].item_locs[j]
                    if target not in ids:
                        self.problem(where, f"unknown step {target!r} in a branch of {s.id!r}{did_you_mean(target, ids)}")
                    elif target == s.id:
                        self.problem(where, f"decide step {s.id!r} cannot name itself in a branch")
                    elif target in named_by:
                        self.problem(where, f"step {target!r} is already in a branch of {named_by[target]!r}: a step belongs to one branch")
                    else:
                        named_by[target] = s.id

    def check_graph(self, runbook: Runbook) -> None:
        needs = {s.id: runbook.needs_of(s.id) for s in runbook.steps}
        for cycle in graph.find_cycles(needs):
            first = self.step_locs[cycle[0]]
            path = " -> ".join([*cycle, cycle[0]])
            self.problem(first.loc, f"dependency cycle: {path}")

    def check_gates(self, runbook: Runbook) -> None:
        for step, message in unanswerable_gates(runbook):
            raw = self.step_locs[step.id]
            self.problem(raw.key_locs.get("approvers", raw.key_locs["four_eyes"]), message)

    # pass 4: expressions and templates ---------------------------------------------------------
    def check_references(self, runbook: Runbook) -> None:
        for s in runbook.steps:
            raw = self.step_locs[s.id]
            if s.when is not None:
                self.check_expression(runbook, s, raw, ("when",), s.when, False)
            if s.until is not None:
                self.check_expression(runbook, s, raw, ("until",), s.until, True)
            for i, branch in enumerate(s.branches):
                if branch.when is not None:
                    self.check_expression(runbook, s, raw, ("decide", i, "when"), branch.when, False)
            if s.kind in (StepKind.RUN, StepKind.CHECK, StepKind.MANUAL, StepKind.APPROVAL, StepKind.ESCALATE):
                self.check_templates(runbook, s, raw, s.kind.value, False)
            for key in ("undo", "notify"):
                if key in raw:
                    self.check_templates(runbook, s, raw, key, True)
        for phase in runbook.phases:
            if phase.when is not None:
                self.check_phase_when(runbook, phase, phase.when)

    def check_phase_when(self, runbook: Runbook, phase: Phase, text: str) -> None:
        """A phase's guard reads what has ended before the phase comes up: earlier phases'
        status, their steps, vars."""
        raw = self.phase_locs[phase.id]
        try:
            expression = parse_expression(text)
        except ExpressionError as exc:
            self.problem(self.value_location(raw, "when", exc.offset, text), f"bad expression: {exc.message}")
            return
        earlier = runbook.phases[: runbook.phases.index(phase)]
        for ref in sorted(expression.references):
            if ref[0] == "phases":
                message = phase_reference_problem(runbook, ref, phase.id)
            else:
                message = self.reference_problem(runbook, ref, lambda: {sid for p in earlier for sid in p.step_ids}, f"phase {phase.id}")
            if message:
                offset = max(text.find(".".join(ref[:2])), 0)
                self.problem(self.value_location(raw, "when", offset, text), message)

    def upstream(self, runbook: Runbook, step_id: str, itself: bool) -> set[str]:
        """Steps whose results exist when `step_id` runs (computed only for steps that refer
        to other steps: a graph walk per step would make large runbooks slow to load)."""
        found = graph.ancestors(runbook, step_id)
        return found | {step_id} if itself else found

    def value_location(self, container: LocDict | LocList, key: Any, offset: int, text: str) -> Location:
        """Where character `offset` of a scalar's text sits in the file."""
        base = _where(container, key)
        line_text = self.lines[base.line - 1] if 0 < base.line <= len(self.lines) else ""
        start = line_text[base.col - 1 : base.col]
        if start in ("|", ">"):
            newlines = text.count("\n", 0, offset)
            indent = len(self.lines[base.line]) - len(self.lines[base.line].lstrip()) if base.line < len(self.lines) else 0
            col = offset - (text.rfind("\n", 0, offset) + 1)
            return Location(self.filename, base.line + 1 + newlines, indent + col + 1)
        quote = 1 if start in ("'", '"') else 0
        newlines = text.count("\n", 0, offset)
        if newlines:
            return Location(self.filename, base.line + newlines, offset - text.rfind("\n", 0, offset))
        return Location(self.filename, base.line, base.col + quote + offset)

    def check_expression(self, runbook: Runbook, s: Step, raw: LocDict, key_path: tuple[Any, ...], text: str, itself: bool) -> None:
        container: Any = raw
        for key in key_path[:-1]:
            container = container[key]
        try:
            expression = parse_expression(text)
        except ExpressionError as exc:
            self.problem(self.value_location(container, key_path[-1], exc.offset, text), f"bad expression: {exc.message}")
            return
        for ref in sorted(expression.references):
            message = self.reference_problem(runbook, ref, lambda: self.upstream(runbook, s.id, itself), s.id)
            if message:
                offset = max(text.find(ref[0] + "." + ref[1]) if len(ref) > 1 else text.find(ref[0]), 0)
                self.problem(self.value_location(container, key_path[-1], offset, text), message)

    def check_templates(self, runbook: Runbook, s: Step, raw: LocDict, key: str, itself: bool) -> None:
        value = raw[key]
        pieces: list[tuple[LocDict | LocList, Any, str]]
        if isinstance(value, LocList):
            pieces = [(value, i, str(v)) for i, v in enumerate(value)]
        else:
            pieces = [(raw, key, value)]
        for container, item_key, text in pieces:
            try:
                template = parse_template(text)
            except TemplateError as exc:
                self.problem(self.value_location(container, item_key, exc.offset, text), f"bad template: {exc.message}")
                continue
            for ref in sorted(template.references):
                message = self.reference_problem(runbook, ref, lambda: self.upstream(runbook, s.id, itself), s.id)
                if message:
                    offset = max(text.find(".".join(ref[:2])), 0)
                    self.problem(self.value_location(container, item_key, offset, text), message)
        if key in _COMMAND_KEYS and len(pieces) == len([t for t in pieces if _parses(t[2])]):
            for unsafe in command_problems(value if isinstance(value, str) else tuple(t[2] for t in pieces)):
                container, item_key, text = pieces[unsafe.item or 0]
                self.problem(self.value_location(container, item_key, unsafe.offset, text), unsafe.reason)

    @staticmethod
    def reference_problem(runbook: Runbook, ref: tuple[str, ...], upstream: Callable[[], set[str]], step_id: str) -> str | None:
        dotted = ".".join(ref)
        root = ref[0]
        if root == "vars":
            if len(ref) != 2:
                return f"{dotted}: write vars.<name>"
            if ref[1] not in runbook.vars:
                return f"unknown var {ref[1]!r} in {dotted}{did_you_mean(ref[1], runbook.vars)}"
            return None
        if root == "secrets":
            if len(ref) != 2 or ref[1] not in runbook.secrets:
                return f"{dotted}: not a declared secret{did_you_mean(ref[-1], runbook.secrets)}"
            return None
        if root == "phases":
            return phase_reference_problem(runbook, ref, runbook.step(step_id).phase)
        if root != "steps":
            return f"unknown name {dotted!r}: expressions read vars.<name>, steps.<id>.<field>, phases.<id>.status or secrets.<NAME>"
        if len(ref) < 3:
            return f"{dotted}: write steps.<id>.status|exit_code|duration|attempts|outputs.<name>"
        target, field = ref[1], ref[2]
        ids = runbook.step_ids
        if target not in ids:
            return f"unknown step {target!r} in {dotted}{did_you_mean(target, ids)}"
        if field not in STEP_FIELDS:
            return f"unknown field {field!r} in {dotted}: use one of {', '.join(STEP_FIELDS)}{did_you_mean(field, STEP_FIELDS)}"
        if field == "outputs":
            names = [o.name for o in runbook.step(target).outputs]
            if len(ref) != 4:
                return f"{dotted}: write steps.{target}.outputs.<name>"
            if ref[3] not in names:
                declared = ", ".join(names) or "none"
                return f"step {target!r} declares no output {ref[3]!r} (its outputs: {declared}){did_you_mean(ref[3], names)}"
        elif len(ref) != 3:
            return f"{dotted}: {field} has no parts"
        if target not in upstream():
            return f"{dotted}: {target!r} does not run before {step_id!r}; add it to needs"
        return None


def phase_reference_problem(runbook: Runbook, ref: tuple[str, ...], before: str | None) -> str | None:
    """`phases.ID.status`, read only where phase ID has ended: from a later phase."""
    dotted = ".".join(ref)
    ids = [p.id for p in runbook.phases]
    if len(ref) != 3 or ref[2] != "status":
        return f"{dotted}: write phases.<id>.status"
    if ref[1] not in ids:
        return f"unknown phase {ref[1]!r} in {dotted}{did_you_mean(ref[1], ids)}"
    if before is None or ids.index(ref[1]) >= ids.index(before):
        return f"{dotted}: phase {ref[1]!r} has not ended when this is read; read it from a later phase"
    return None
