"""YAML runbook -> typed Runbook, with every problem reported as file:line:col.

Validation runs in passes so one mistake does not hide the others: the shape of each object
(keys and value types, from spec.py), then the model (ids, kinds, branches), then the graph
(unknown needs, cycles), then expressions and templates (syntax and what they refer to).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from warroom.runbook import graph, spec
from warroom.runbook.gates import unanswerable_gates
from warroom.runbook.durations import parse_duration
from warroom.runbook.errors import Location, Problem, RunbookError, VarError
from warroom.runbook.expressions import ExpressionError, parse_expression
from warroom.runbook.model import (
    Branch,
    DrillBlock,
    FailurePolicy,
    Lock,
    Mode,
    OnTimeout,
    OutputSpec,
    Phase,
    Quorum,
    Retries,
    Runbook,
    Step,
    StepKind,
    Thread,
)
from warroom.runbook.templates import TemplateError, command_problems, parse_template
from warroom.runbook.yaml_source import LocDict, LocList, load_yaml, read_text

_COMMAND_KEYS = ("run", "check", "undo", "notify")
STEP_FIELDS = ("status", "exit_code", "duration", "attempts", "outputs")
_KIND_ONLY = {
    "until": StepKind.CHECK,
    "interval": StepKind.CHECK,
    "four_eyes": StepKind.APPROVAL,
    "approvers": StepKind.APPROVAL,
    "on_timeout": StepKind.APPROVAL,
    "notify": StepKind.ESCALATE,
}


def parse_var_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`--var name=value` pairs; VarError for a malformed one, or one that is not UTF-8 (the
    shell passes bytes, which Python keeps as lone surrogates no journal can store)."""
    result: dict[str, str] = {}
    for pair in pairs:
        try:
            pair.encode("utf-8")
        except UnicodeEncodeError:
            shown = pair.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise VarError(f"--var {shown!r}: not UTF-8 text") from None
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise VarError(f"--var {pair!r}: write --var name=value")
        result[name.strip()] = value
    return result


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""


def load_runbook(path: str | Path, overrides: Mapping[str, str] | None = None) -> Runbook:
    """The runbook at `path` with `--var` overrides applied; RunbookError lists every problem."""
    return load_text(read_text(path, "a runbook file"), str(path), overrides)


def load_text(text: str, filename: str, overrides: Mapping[str, str] | None = None) -> Runbook:
    document, problems = load_yaml(text, filename)
    if document is None and not problems:
        problems = [Problem(Location(filename, 1, 1), "empty file: a runbook needs steps or phases")]
    if problems and document is None:
        raise RunbookError(problems)
    builder = _Builder(filename, text, document, problems)
    runbook = builder.build(overrides or {})
    if builder.problems or runbook is None:
        raise RunbookError(builder.problems)
    return runbook


def _parses(text: str) -> bool:
    try:
        parse_template(text)
    except TemplateError:
        return False
    return True


def _where(container: LocDict | LocList, key: Any) -> Location:
    found: Location = container.value_locs.get(key, container.loc) if isinstance(container, LocDict) else container.item_locs[key]
    return found


class _Builder:
    def __init__(self, filename: str, text: str, document: Any, problems: list[Problem]) -> None:
        self.filename = filename
        self.lines = text.splitlines()
        self.document = document
        self.problems = list(problems)

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

    # pass 2: model -------------------------------------------------------------------------
    def build(self, overrides: Mapping[str, str]) -> Runbook | None:
        doc = self.document
        top = Location(self.filename, 1, 1)
        if not isinstance(doc, LocDict):
            self.problem(top, "a runbook is a mapping with steps (or phases) at the top level")
            return None
        self.check_shape(doc, spec.RUNBOOK, doc.loc)
        if "steps" in doc and "phases" in doc:
            self.problem(doc.key_locs["phases"], "use either steps or phases, not both")
        if "steps" not in doc and "phases" not in doc:
            self.problem(doc.loc, "a runbook needs steps (or phases)")
            return None

        mode = Mode(doc.get("mode", "parallel"))
        on_failure = FailurePolicy(doc.get("on_failure", "fail-fast"))
        quorum = self.quorum(doc, on_failure)
        threads = self.threads(doc)
        phases: list[Phase] = []
        steps: list[Step] = []
        self.step_locs: dict[str, LocDict] = {}
        self.id_columns: dict[int, int] = {}
        self.phase_locs: dict[str, LocDict] = {}
        if "phases" in doc:
            seen_phases: dict[str, Location] = {}
            for i, raw in enumerate(doc["phases"]):
                pid = raw["id"]
                if pid in seen_phases:
                    self.problem(raw.value_locs["id"], f"duplicate phase id {pid!r} (first at line {seen_phases[pid].line})")
                seen_phases[pid] = raw.value_locs["id"]
                self.phase_locs[pid] = raw
                phase_policy = FailurePolicy(raw.get("on_failure", on_failure.value))
                phase_steps = [self.step(s, pid, threads) for s in raw["steps"]]
                steps.extend(s for s in phase_steps if s)
                phases.append(
                    Phase(
                        id=pid,
                        mode=Mode(raw.get("mode", mode.value)),
                        on_failure=phase_policy,
                        quorum=self.quorum(raw, phase_policy),
                        step_ids=tuple(s.id for s in phase_steps if s),
                        title=raw.get("title", ""),
                        when=raw.get("when"),
                    )
                )
        else:
            steps = [s for s in (self.step(raw, None, threads) for raw in doc["steps"]) if s]
        if not steps and not self.problems:
            self.problem(doc.loc, "a runbook needs at least one step")

        self.check_ids(steps)
        self.check_targets(steps, phases)
        thread_list = self.thread_list(threads, steps)
        variables = self.variables(doc, overrides)
        if self.problems:
            return None
        runbook = Runbook(
            id=doc.get("runbook") or self.default_id(),
            title=doc.get("title") or doc.get("runbook") or self.default_id(),
            steps=tuple(steps),
            mode=mode,
            max_parallel=doc.get("max_parallel"),
            on_failure=on_failure,
            quorum=quorum,
            deadline_s=parse_duration(doc["deadline"]) if "deadline" in doc else None,
            vars=variables,
            secrets=tuple(doc.get("secrets", ())),
            roles=dict(doc.get("roles", {})),
            threads=thread_list,
            phases=tuple(phases),
            source=self.filename,
        )
        self.check_graph(runbook)
        self.check_gates(runbook)
        if not self.problems:
            self.check_references(runbook)
        return runbook

    def default_id(self) -> str:
        stem = Path(self.filename).stem
        return re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "runbook"

    def quorum(self, raw: LocDict, policy: FailurePolicy) -> Quorum | None:
        value = raw.get("quorum")
        if policy is FailurePolicy.QUORUM and value is None:
            self.problem(raw.loc, "on_failure: quorum needs quorum: a count (2) or a percentage (\"60%\")")
            return None
        if value is None:
            return None
        if policy is not FailurePolicy.QUORUM:
            self.problem(raw.value_locs["quorum"], "quorum is set but on_failure is not quorum")
        if isinstance(value, str):
            return Quorum(percent=float(value.strip()[:-1]))
        return Quorum(count=value)

    def threads(self, doc: LocDict) -> dict[str, Thread] | None:
        if "threads" not in doc:
            return None
        return {
            tid: Thread(tid, raw.get("title", tid), raw.get("owner"))
            for tid, raw in doc["threads"].items()
        }

    def thread_list(self, declared: dict[str, Thread] | None, steps: list[Step]) -> tuple[Thread, ...]:
        if declared is not None:
            return tuple(declared.values())
        seen: dict[str, Thread] = {}
        for s in steps:
            if s.thread and s.thread not in seen:
                seen[s.thread] = Thread(s.thread, s.thread)
        return tuple(seen.values())

    def variables(self, doc: LocDict, overrides: Mapping[str, str]) -> dict[str, Any]:
        variables = dict(doc.get("vars", {}))
        for name, text in overrides.items():
            if name not in variables:
                known = ", ".join(variables) or "none"
                self.problem(Location(self.filename, 0, 0), f"--var {name}: the runbook has no var {name!r} (its vars: {known}){did_you_mean(name, variables)}")
                continue
            variables[name] = self.coerce(name, variables[name], text)
        return variables

    def coerce(self, name: str, default: Any, text: str) -> Any:
        """An override keeps the type of the default, so `--var replicas=3` stays a number."""
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "yes", "no"):
                    raise ValueError
                return text.lower() in ("true", "yes")
            if isinstance(default, int):
                return int(text)
            if isinstance(default, float):
                return float(text)
        except ValueError:
            self.problem(Location(self.filename, 0, 0), f"--var {name}={text}: expected {type(default).__name__} like the default {default!r}")
        return text

    def step(self, raw: LocDict, phase: str | None, threads: dict[str, Thread] | None) -> Step | None:
        if "id" not in raw:
            return None
        sid = raw["id"]
        kinds = [k for k in spec.STEP_KINDS if k in raw]
        if not kinds:
            self.problem(raw.loc, f"step {sid!r} has no kind: give it one of {', '.join(spec.STEP_KINDS)}")
            return None
        if len(kinds) > 1:
            self.problem(raw.key_locs[kinds[1]], f"step {sid!r} has two kinds ({' and '.join(kinds)}): a step does exactly one thing")
            return None
        kind = StepKind(kinds[0])
        for key, only in _KIND_ONLY.items():
            if key in raw and kind is not only:
                self.problem(raw.key_locs[key], f"{key} only applies to {only.value} steps, and {sid!r} is a {kind.value} step")
        if "interval" in raw and "until" not in raw:
            self.problem(raw.key_locs["interval"], "interval only applies to a check with until")
        thread = raw.get("thread")
        if thread and threads is not None and thread not in threads:
            self.problem(raw.value_locs["thread"], f"unknown thread {thread!r}{did_you_mean(thread, threads)}")
        self.step_locs[sid] = raw
        self.id_columns[raw.loc.line] = raw.value_locs["id"].col
        body = raw[kinds[0]]
        return Step(
            id=sid,
            kind=kind,
            title=raw.get("title", ""),
            thread=thread,
            phase=phase,
            command=self.command(body) if kind in (StepKind.RUN, StepKind.CHECK) else None,
            until=raw.get("until"),
            interval_s=parse_duration(raw["interval"]) if "interval" in raw else 5.0,
            instructions=body if kind is StepKind.MANUAL else None,
            question=body if kind is StepKind.APPROVAL else None,
            four_eyes=raw.get("four_eyes", False),
            approvers=tuple(raw.get("approvers", ())),
            on_timeout=OnTimeout(raw["on_timeout"]) if "on_timeout" in raw else None,
            branches=self.branches(raw) if kind is StepKind.DECIDE else (),
            wait_s=parse_duration(body) if kind is StepKind.WAIT else None,
            escalate_to=body if kind is StepKind.ESCALATE else None,
            notify=self.command(raw["notify"]) if "notify" in raw else None,
            undo=self.command(raw["undo"]) if "undo" in raw else None,
            needs=tuple(raw.get("needs", ())),
            locks=tuple(self.lock(text) for text in raw.get("locks", ())),
            timeout_s=parse_duration(raw["timeout"]) if "timeout" in raw else None,
            retries=self.retries(raw.get("retries")),
            estimate_s=parse_duration(raw["estimate"]) if "estimate" in raw else None,
            idempotent=raw.get("idempotent", False),
            outputs=self.outputs(raw.get("outputs")),
            when=raw.get("when"),
            drill=self.drill(raw.get("drill")),
            line=raw.loc.line,
        )

    @staticmethod
    def command(value: str | list[Any]) -> str | tuple[str, ...]:
        return value if isinstance(value, str) else tuple(str(v) for v in value)

    @staticmethod
    def lock(text: str) -> Lock:
        name, _, shared = text.partition(":")
        return Lock(name, shared == "shared")

    @staticmethod
    def retries(raw: LocDict | None) -> Retries:
        if not raw:
            return Retries()
        return Retries(
            count=raw.get("count", 0),
            delay_s=parse_duration(raw["delay"]) if "delay" in raw else 0.0,
            backoff=float(raw.get("backoff", 1.0)),
        )

    def outputs(self, raw: LocDict | None) -> tuple[OutputSpec, ...]:
        if not raw:
            return ()
        result = []
        for name, how in raw.items():
            present = [k for k in ("regex", "json") if k in how]
            if len(present) != 1:
                self.problem(raw.value_locs[name], f"output {name!r} takes exactly one of regex or json")
                continue
            if "regex" in how:
                try:
                    re.compile(how["regex"])
                except re.error as exc:
                    self.problem(how.value_locs["regex"], f"bad regex for output {name!r}: {exc}")
                    continue
            result.append(OutputSpec(name, how.get("regex"), how.get("json")))
        return tuple(result)

    @staticmethod
    def drill(raw: LocDict | None) -> DrillBlock | None:
        if raw is None:
            return None
        duration = raw.get("duration")
        span: tuple[float, float] | None = None
        if isinstance(duration, list):
            span = (parse_duration(duration[0]), parse_duration(duration[1]))
        elif duration is not None:
            span = (parse_duration(duration), parse_duration(duration))
        return DrillBlock(
            duration_s=span,
            fail=float(raw.get("fail", 0.0)),
            fail_attempts=tuple(raw.get("fail_attempts", ())),
            outputs=dict(raw.get("outputs", {})),
            stdout=raw.get("stdout"),
        )

    def branches(self, raw: LocDict) -> tuple[Branch, ...]:
        items: LocList = raw["decide"]
        result: list[Branch] = []
        has_else = False
        for i, item in enumerate(items):
            where = items.item_locs[i]
            if "else" in item:
                if "when" in item or "then" in item:
                    self.problem(where, "an else branch takes only else: [ids]")
                if i != len(items) - 1:
                    self.problem(where, "the else branch must come last")
                has_else = True
                result.append(Branch(None, tuple(item["else"])))
            elif "when" in item and "then" in item:
                result.append(Branch(item["when"], tuple(item["then"])))
            else:
                self.problem(where, "a decide branch is {when: EXPR, then: [ids]} or {else: [ids]}")
        if not has_else:
            self.problem(raw.key_locs["decide"], f"decide step {raw['id']!r} needs an else branch: {{else: [ids]}} (escalate when nothing matched)")
        return tuple(result)

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
