"""The typed runbook: what the loader builds and every other part reads.

Frozen dataclasses so a loaded runbook can be shared by the scheduler, the planner and the
console without anyone changing it underneath the others. `to_dict`/`from_dict` give the
normalized JSON form the journal embeds, so a journal replays even when the YAML is gone.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from warroom.runbook.durations import MAX_SECONDS


class StepKind(str, Enum):
    RUN = "run"
    CHECK = "check"
    MANUAL = "manual"
    APPROVAL = "approval"
    DECIDE = "decide"
    WAIT = "wait"
    ESCALATE = "escalate"


class Mode(str, Enum):
    LINEAR = "linear"
    PARALLEL = "parallel"


class FailurePolicy(str, Enum):
    FAIL_FAST = "fail-fast"
    CONTINUE = "continue"
    QUORUM = "quorum"


class Model(str, Enum):
    """The recovery model a runbook follows, as the seed documents name them."""

    LINEAR = "linear"
    PARALLEL = "parallel"
    ADAPTIVE = "adaptive"
    HYBRID = "hybrid"


class OnTimeout(str, Enum):
    ESCALATE = "escalate"
    REJECT = "reject"


@dataclass(frozen=True)
class Quorum:
    """`quorum: 2` or `quorum: "60%"`: how many steps of a scope must succeed."""

    count: int | None = None
    percent: float | None = None

    def required(self, total: int) -> int:
        if self.count is not None:
            return min(self.count, total)
        if self.percent is not None:
            return max(1, math.ceil(total * self.percent / 100.0 - 1e-9))
        return total

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else str(self.count)


@dataclass(frozen=True)
class Lock:
    """A resource a step holds while it runs; shared holders may overlap, exclusive may not."""

    name: str
    shared: bool = False

    def __str__(self) -> str:
        return f"{self.name}:shared" if self.shared else self.name


@dataclass(frozen=True)
class Retries:
    count: int = 0
    delay_s: float = 0.0
    backoff: float = 1.0

    def delay_before(self, attempt: int) -> float:
        """Delay before attempt number `attempt` (2 is the first retry), at most 30 days
        however many retries the backoff has grown over."""
        if self.delay_s == 0:
            return 0.0
        try:
            return min(self.delay_s * (self.backoff ** max(0, attempt - 2)), MAX_SECONDS)
        except OverflowError:
            return MAX_SECONDS


@dataclass(frozen=True)
class OutputSpec:
    """How to capture a named output from a step's stdout: a regex group or a JSON path."""

    name: str
    regex: str | None = None
    json: str | None = None


@dataclass(frozen=True)
class DrillBlock:
    """What a step does in a drill instead of its real action."""

    duration_s: tuple[float, float] | None = None  # low, high: drawn uniformly with the seed
    fail: float = 0.0  # probability that an attempt fails
    fail_attempts: tuple[int, ...] = ()  # attempts (1-based) that fail for sure
    outputs: dict[str, Any] = field(default_factory=dict)
    stdout: str | None = None


@dataclass(frozen=True)
class Branch:
    """One arm of a decide step; `when` None is the else arm."""

    when: str | None
    then: tuple[str, ...]


@dataclass(frozen=True)
class Thread:
    id: str
    title: str
    owner: str | None = None


Command = str | tuple[str, ...]
"""A string runs under `sh -c` with every substituted value quoted; a tuple is an exec argv."""


@dataclass(frozen=True)
class Step:
    id: str
    kind: StepKind
    title: str = ""
    thread: str | None = None
    phase: str | None = None
    command: Command | None = None  # run and check
    until: str | None = None  # check: poll until this expression is true
    interval_s: float = 5.0  # check with until: time between polls
    instructions: str | None = None  # manual
    question: str | None = None  # approval
    four_eyes: bool = False  # approval: the run's starter may not approve
    approvers: tuple[str, ...] = ()  # approval: who may answer; empty means any commander or anyone
    on_timeout: OnTimeout | None = None  # approval
    branches: tuple[Branch, ...] = ()  # decide
    wait_s: float | None = None  # wait
    escalate_to: str | None = None  # escalate: the person or rota paged
    notify: Command | None = None  # escalate: command that pages
    undo: Command | None = None
    needs: tuple[str, ...] = ()  # as written; see Runbook.needs_of for the effective set
    locks: tuple[Lock, ...] = ()
    timeout_s: float | None = None
    retries: Retries = Retries()
    estimate_s: float | None = None
    idempotent: bool = False
    outputs: tuple[OutputSpec, ...] = ()
    when: str | None = None
    drill: DrillBlock | None = None
    line: int = 0  # where the step starts in its file, for messages

    @property
    def rerunnable(self) -> bool:
        """Safe to run again after a crash left it in doubt."""
        return self.idempotent or self.kind is StepKind.CHECK


@dataclass(frozen=True)
class Phase:
    id: str
    mode: Mode
    on_failure: FailurePolicy
    quorum: Quorum | None
    step_ids: tuple[str, ...]
    title: str = ""
    when: str | None = None  # a guard read as the phase comes up: false skips all its steps


@dataclass(frozen=True)
class Runbook:
    id: str
    title: str
    steps: tuple[Step, ...]
    mode: Mode = Mode.PARALLEL
    max_parallel: int | None = None
    on_failure: FailurePolicy = FailurePolicy.FAIL_FAST
    quorum: Quorum | None = None
    deadline_s: float | None = None
    vars: dict[str, Any] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)
    threads: tuple[Thread, ...] = ()
    phases: tuple[Phase, ...] = ()
    source: str = ""  # the file it was loaded from, for messages only

    def step(self, step_id: str) -> Step:
        return self._index[step_id]

    @property
    def _index(self) -> dict[str, Step]:
        cached = self.__dict__.get("_step_index")
        if cached is None:
            cached = {s.id: s for s in self.steps}
            object.__setattr__(self, "_step_index", cached)
        return cached

    @property
    def step_ids(self) -> tuple[str, ...]:
        """Kept once built: the engine asks for it on every failure and every end check."""
        cached = self.__dict__.get("_step_ids")
        if cached is None:
            cached = tuple(s.id for s in self.steps)
            object.__setattr__(self, "_step_ids", cached)
        return cached

    def thread(self, thread_id: str | None) -> Thread | None:
        return next((t for t in self.threads if t.id == thread_id), None)

    @property
    def resources(self) -> tuple[str, ...]:
        """The resources its steps lock, sorted: what a person may claim."""
        return tuple(sorted({lock.name for s in self.steps for lock in s.locks}))

    def phase_of(self, step_id: str) -> Phase | None:
        phase_id = self.step(step_id).phase
        return next((p for p in self.phases if p.id == phase_id), None)

    def needs_of(self, step_id: str) -> tuple[str, ...]:
        """Effective needs within the step's scope: written needs, the previous step in file
        order when the scope is linear, and the decide step that names it in a branch.
        Phase order is not a need: a phase starts when the one before it has ended."""
        cached = self.__dict__.get("_needs_cache")
        if cached is None:
            cached = self._compute_needs()
            object.__setattr__(self, "_needs_cache", cached)
        return cached[step_id]

    def _compute_needs(self) -> dict[str, tuple[str, ...]]:
        result: dict[str, list[str]] = {s.id: list(s.needs) for s in self.steps}
        scopes: list[tuple[Mode, list[str]]]
        if self.phases:
            scopes = [(p.mode, list(p.step_ids)) for p in self.phases]
        else:
            scopes = [(self.mode, [s.id for s in self.steps])]
        for mode, ids in scopes:
            if mode is Mode.LINEAR:
                for before, after in zip(ids, ids[1:]):
                    if before not in result[after]:
                        result[after].append(before)
        for s in self.steps:
            if s.kind is StepKind.DECIDE:
                for branch in s.branches:
                    for target in branch.then:
                        if target in result and s.id not in result[target]:
                            result[target].append(s.id)
        return {k: tuple(v) for k, v in result.items()}

    @property
    def model(self) -> Model:
        if self.phases:
            return Model.HYBRID
        if any(s.kind is StepKind.DECIDE for s in self.steps):
            return Model.ADAPTIVE
        return Model.LINEAR if self.mode is Mode.LINEAR else Model.PARALLEL

    def to_dict(self) -> dict[str, Any]:
        """The normalized, JSON-ready form the journal embeds. Where the file sits and on
        which lines are not part of it: moving a file or adding a comment changes nothing."""
        data: dict[str, Any] = _to_jsonable(self)
        del data["source"]
        for step in data["steps"]:
            del step["line"]
        for phase in data["phases"]:
            if phase["when"] is None:
                del phase["when"]  # runbooks without phase guards keep the digest they had
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Runbook:
        return _runbook_from_dict(data)

    def sha256(self) -> str:
        return runbook_digest(self.to_dict())


def runbook_digest(data: dict[str, Any]) -> str:
    """The sha256 of a runbook's `to_dict` form, for a caller that already holds it."""
    return text_digest(canonical_json(data))


def text_digest(canonical: str) -> str:
    """The sha256 of a runbook's `to_dict` form already spelled as canonical JSON: a large
    runbook is then encoded once for both its digest and the row that embeds it."""
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """One spelling of a JSON value, so equal values hash equal."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_T = TypeVar("_T")
_SCALARS = frozenset({str, int, float, bool, type(None)})
_FIELDS: dict[type, tuple[str, ...]] = {}
"""Each dataclass's field names, looked up once: to_dict walks every field of every step."""


def _to_jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:
        return value
    if isinstance(value, Enum):
        return value.value
    names = _FIELDS.get(kind)
    if names is None and hasattr(value, "__dataclass_fields__"):
        names = _FIELDS[kind] = tuple(value.__dataclass_fields__)
    if names is not None:
        fields = value.__dict__  # plain scalars (most fields) are kept without a call
        return {name: v if type(v := fields[name]) in _SCALARS else _to_jsonable(v) for name in names}
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    return value


def _command(value: Any) -> Command | None:
    if value is None or isinstance(value, str):
        return value
    return tuple(value)


def _built(cls: type[_T], fields: dict[str, Any]) -> _T:
    """A frozen dataclass made from all its fields without its generated __init__, which
    sets each field through object.__setattr__: most of the time of reading a large
    runbook back from the journal. TypeError unless every field is given."""
    if fields.keys() != cls.__dataclass_fields__.keys():  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__} needs exactly its fields")
    made = object.__new__(cls)
    made.__dict__.update(fields)
    return made


def _step_from_dict(d: dict[str, Any]) -> Step:
    drill = d.get("drill")
    return _built(Step, dict(
        id=d["id"],
        kind=StepKind(d["kind"]),
        title=d.get("title", ""),
        thread=d.get("thread"),
        phase=d.get("phase"),
        command=_command(d.get("command")),
        until=d.get("until"),
        interval_s=d.get("interval_s", 5.0),
        instructions=d.get("instructions"),
        question=d.get("question"),
        four_eyes=d.get("four_eyes", False),
        approvers=tuple(d.get("approvers", ())),
        on_timeout=OnTimeout(d["on_timeout"]) if d.get("on_timeout") else None,
        branches=tuple(Branch(b["when"], tuple(b["then"])) for b in d.get("branches", ())),
        wait_s=d.get("wait_s"),
        escalate_to=d.get("escalate_to"),
        notify=_command(d.get("notify")),
        undo=_command(d.get("undo")),
        needs=tuple(d.get("needs", ())),
        locks=tuple(Lock(lk["name"], lk["shared"]) for lk in d.get("locks", ())),
        timeout_s=d.get("timeout_s"),
        retries=Retries(**d["retries"]) if d.get("retries") else Retries(),
        estimate_s=d.get("estimate_s"),
        idempotent=d.get("idempotent", False),
        outputs=tuple(OutputSpec(**o) for o in d.get("outputs", ())),
        when=d.get("when"),
        drill=DrillBlock(
            duration_s=tuple(drill["duration_s"]) if drill.get("duration_s") else None,
            fail=drill.get("fail", 0.0),
            fail_attempts=tuple(drill.get("fail_attempts", ())),
            outputs=dict(drill.get("outputs", {})),
            stdout=drill.get("stdout"),
        )
        if drill
        else None,
        line=d.get("line", 0),
    ))


def _quorum(d: dict[str, Any] | None) -> Quorum | None:
    return Quorum(**d) if d else None


def _runbook_from_dict(d: dict[str, Any]) -> Runbook:
    return Runbook(
        id=d["id"],
        title=d.get("title", ""),
        steps=tuple(_step_from_dict(s) for s in d["steps"]),
        mode=Mode(d.get("mode", "parallel")),
        max_parallel=d.get("max_parallel"),
        on_failure=FailurePolicy(d.get("on_failure", "fail-fast")),
        quorum=_quorum(d.get("quorum")),
        deadline_s=d.get("deadline_s"),
        vars=dict(d.get("vars", {})),
        secrets=tuple(d.get("secrets", ())),
        roles=dict(d.get("roles", {})),
        threads=tuple(Thread(**t) for t in d.get("threads", ())),
        phases=tuple(
            Phase(
                id=p["id"],
                mode=Mode(p["mode"]),
                on_failure=FailurePolicy(p["on_failure"]),
                quorum=_quorum(p.get("quorum")),
                step_ids=tuple(p["step_ids"]),
                title=p.get("title", ""),
                when=p.get("when"),
            )
            for p in d.get("phases", ())
        ),
        source=d.get("source", ""),
    )
