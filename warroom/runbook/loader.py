"""YAML runbook -> typed Runbook, with every problem reported as file:line:col.

Validation runs in passes so one mistake does not hide the others: the shape of each object
(keys and value types, from spec.py), then the model (ids, kinds, branches), then the graph
(unknown needs, cycles), then expressions and templates (syntax and what they refer to). This
module builds the model (pass 2) and reports what it finds while building; the other passes'
checks live in checks.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from warroom.runbook import spec
from warroom.runbook.checks import Checker, did_you_mean
from warroom.runbook.durations import parse_duration
from warroom.runbook.errors import Location, Problem, RunbookError, VarError
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
from warroom.runbook.yaml_source import LocDict, LocList, load_yaml, read_text

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


class _Builder(Checker):
    def __init__(self, filename: str, text: str, document: Any, problems: list[Problem]) -> None:
        super().__init__(filename, text, problems)
        self.document = document

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
