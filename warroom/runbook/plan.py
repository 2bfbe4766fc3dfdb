"""The plan of a runbook: what runs side by side, how long it should take, what slows it.

`parallel_s` is an honest schedule, not the critical path: a list scheduler replays the
run against needs, phase barriers, `max_parallel` and locks, the same rules the engine
obeys. The journal's report reuses `schedule` with the actual durations of a past run to
show what parallelism would have saved, so estimates and hindsight share one scheduler
(scheduling.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warroom.runbook.durations import format_duration
from warroom.runbook.graph import Structure, levels, structure
from warroom.runbook.model import Model, Runbook, Step, StepKind
from warroom.runbook.scheduling import Schedule, longest_chain, simulate

_MAX_BRANCH_COMBINATIONS = 32  # beyond this, choose each decide's branch greedily
_LEVEL_IDS_SHOWN = 12  # a level line longer than this is cut, with a count of the rest


def step_estimate(step: Step) -> float:
    """How long a step is expected to take: its `estimate`, else the middle of its drill
    duration, else its wait, else nothing known (0)."""
    if step.estimate_s is not None:
        return step.estimate_s
    if step.drill is not None and step.drill.duration_s is not None:
        low, high = step.drill.duration_s
        return (low + high) / 2.0
    if step.kind is StepKind.WAIT and step.wait_s is not None:
        return step.wait_s
    return 0.0


def schedule(
    runbook: Runbook,
    durations: Mapping[str, float] | None = None,
    *,
    include: set[str] | None = None,
) -> Schedule:
    """Schedule the runbook as parallel as its rules allow. `durations` overrides the
    estimates (missing steps keep theirs); steps outside `include` take no time, hold no
    locks and are left out of the result."""
    graph = structure(runbook)
    weights = _weights(runbook, durations)
    included = [include is None or s in include for s in graph.ids]
    return simulate(runbook, graph, weights, included, ignored_lock=None)


def critical_path(
    runbook: Runbook,
    durations: Mapping[str, float] | None = None,
    *,
    include: set[str] | None = None,
) -> list[str]:
    """The longest chain through needs and phase barriers, weighted by estimate (or
    `durations`); ties go to the step written first. Steps outside `include` weigh
    nothing and are not listed."""
    graph = structure(runbook)
    weights = _weights(runbook, durations)
    included = [include is None or s in include for s in graph.ids]
    return longest_chain(graph, weights, included)[0]


def _weights(runbook: Runbook, durations: Mapping[str, float] | None) -> list[float]:
    if durations is None:
        return [step_estimate(s) for s in runbook.steps]
    return [float(durations.get(s.id, step_estimate(s))) for s in runbook.steps]


@dataclass(frozen=True)
class LockConflict:
    """A lock that forces steps apart which the graph alone would let overlap."""

    lock: str
    steps: tuple[str, ...]
    delay_s: float  # how much later the run ends because of this lock


@dataclass(frozen=True)
class Plan:
    runbook: str
    title: str
    model: Model
    steps: int
    max_parallel: int | None
    threads: dict[str, tuple[str, ...]]  # thread id -> its steps in file order
    levels: list[list[str]]
    critical_path: list[str]
    critical_path_s: float
    linear_s: float
    parallel_s: float
    lock_conflicts: list[LockConflict]
    branches: dict[str, tuple[str, ...]]  # adaptive: decide id -> the branch estimated

    @property
    def saving_pct(self) -> float:
        if self.linear_s <= 0:
            return 0.0
        return round(100.0 * (self.linear_s - self.parallel_s) / self.linear_s, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "title": self.title,
            "model": self.model.value,
            "steps": self.steps,
            "max_parallel": self.max_parallel,
            "threads": {k: list(v) for k, v in self.threads.items()},
            "levels": [list(level) for level in self.levels],
            "critical_path": list(self.critical_path),
            "estimate": {
                "linear_s": _seconds(self.linear_s),
                "parallel_s": _seconds(self.parallel_s),
                "saving_pct": self.saving_pct,
                "critical_path_s": _seconds(self.critical_path_s),
            },
            "lock_conflicts": [
                {"lock": c.lock, "steps": list(c.steps), "delay_s": _seconds(c.delay_s)}
                for c in self.lock_conflicts
            ],
            "branches": {k: list(v) for k, v in self.branches.items()},
        }


def _seconds(value: float) -> float:
    return round(value, 3)


def build_plan(runbook: Runbook) -> Plan:
    """Levels, critical path, estimates and lock conflicts; an adaptive runbook is
    estimated on the choice of branches that takes longest."""
    graph = structure(runbook)
    weights = _weights(runbook, None)
    branches, included = _longest_branches(runbook, graph, weights)
    planned = simulate(runbook, graph, weights, included, ignored_lock=None)
    path, path_s = longest_chain(graph, weights, included)
    threads: dict[str, tuple[str, ...]] = {t.id: () for t in runbook.threads}
    for step in runbook.steps:
        if step.thread is not None:
            threads[step.thread] = threads.get(step.thread, ()) + (step.id,)
    return Plan(
        runbook=runbook.id,
        title=runbook.title,
        model=runbook.model,
        steps=len(runbook.steps),
        max_parallel=runbook.max_parallel,
        threads=threads,
        levels=levels(runbook),
        critical_path=path,
        critical_path_s=path_s,
        linear_s=sum(w for w, inc in zip(weights, included) if inc),
        parallel_s=planned.makespan_s,
        lock_conflicts=_lock_conflicts(runbook, graph, weights, included, planned.makespan_s),
        branches=branches,
    )


def _longest_branches(
    runbook: Runbook, graph: Structure, weights: list[float]
) -> tuple[dict[str, tuple[str, ...]], list[bool]]:
    """The branch of every decide step that makes the run longest, and the steps that run
    with those branches taken (untaken branches are skipped with their dependents)."""
    decides = [
        graph.ids[node]
        for node in graph.order
        if node < graph.step_count and runbook.step(graph.ids[node]).kind is StepKind.DECIDE
        and runbook.step(graph.ids[node]).branches
    ]
    if not decides:
        return {}, [True] * graph.step_count
    counts = [len(runbook.step(d).branches) for d in decides]
    if math.prod(counts) <= _MAX_BRANCH_COMBINATIONS:
        def longest_first(choice: dict[str, int]) -> tuple[float, float]:
            included = _running_steps(runbook, graph, choice)
            span = simulate(runbook, graph, weights, included, ignored_lock=None).makespan_s
            return span, sum(w for w, inc in zip(weights, included) if inc)

        combos = [dict(zip(decides, c)) for c in itertools.product(*map(range, counts))]
        choice = max(combos, key=longest_first)  # the first of equals: earlier branches
        included = _running_steps(runbook, graph, choice)
    else:
        choice = {}
        for decide in decides:
            lengths = []
            for k in range(len(runbook.step(decide).branches)):
                trial = _running_steps(runbook, graph, {**choice, decide: k})
                lengths.append(longest_chain(graph, weights, trial)[1])
            choice[decide] = max(range(len(lengths)), key=lambda k: (lengths[k], -k))
        included = _running_steps(runbook, graph, choice)
    taken = {d: runbook.step(d).branches[k].then for d, k in choice.items()}
    return {d: taken[d] for d in decides if included[graph.index[d]]}, included


def _running_steps(runbook: Runbook, graph: Structure, choice: dict[str, int]) -> list[bool]:
    """Which steps run when each decide in `choice` takes the given branch; decides not in
    `choice` keep all their branches."""
    taken: set[str] = set()
    untaken: set[str] = set()
    for decide, k in choice.items():
        for i, branch in enumerate(runbook.step(decide).branches):
            (taken if i == k else untaken).update(branch.then)
    untaken -= taken
    n = graph.step_count
    skipped = [False] * n
    for node in graph.order:
        if node >= n:
            continue
        step_id = graph.ids[node]
        needs = runbook.needs_of(step_id)
        skipped[node] = step_id in untaken or (
            bool(needs) and all(skipped[graph.index[need]] for need in needs)
        )
    return [not s for s in skipped]


def _lock_conflicts(
    runbook: Runbook,
    graph: Structure,
    weights: list[float],
    included: list[bool],
    makespan_s: float,
) -> list[LockConflict]:
    """Locks wanted by two steps that could overlap (neither upstream of the other) with at
    least one of them exclusive. Ancestry is kept as bitsets over the lock-holding steps
    only, so the check is one pass over the graph each way."""
    holders = [i for i, step in enumerate(runbook.steps) if included[i] and step.locks]
    bit = {node: 1 << k for k, node in enumerate(holders)}
    above = [0] * len(graph.preds)
    for node in graph.order:
        mask = 0
        for p in graph.preds[node]:
            mask |= above[p] | bit.get(p, 0)
        above[node] = mask
    below = [0] * len(graph.preds)
    for node in reversed(graph.order):
        mask = 0
        for s in graph.succs[node]:
            mask |= below[s] | bit.get(s, 0)
        below[node] = mask
    wanting: dict[str, list[tuple[int, bool]]] = {}
    for node in holders:
        for lk in runbook.steps[node].locks:
            wanting.setdefault(lk.name, []).append((node, lk.shared))
    conflicts = []
    for name in sorted(wanting):
        members = wanting[name]
        everyone = sum(bit[node] for node, _ in members)
        exclusive = sum(bit[node] for node, shared in members if not shared)
        involved = []
        for node, shared in members:
            rivals = everyone & ~(above[node] | below[node] | bit[node])
            if rivals & (exclusive if shared else everyone):
                involved.append(graph.ids[node])
        if involved:
            unlocked = simulate(runbook, graph, weights, included, ignored_lock=name)
            delay = max(0.0, makespan_s - unlocked.makespan_s)
            conflicts.append(LockConflict(name, tuple(involved), delay))
    return conflicts


def render_plan(plan: Plan) -> str:
    """The plan as a person reads it at a glance, in plain text."""
    title = f"{plan.runbook}: {plan.title}" if plan.title else plan.runbook
    facts = [plan.model.value, f"{plan.steps} step{'s' if plan.steps != 1 else ''}"]
    if plan.max_parallel:
        facts.append(f"max {plan.max_parallel} at once")
    lines = [f"{title}  ({', '.join(facts)})", ""]
    lines.append("Levels (steps on one line can run side by side)")
    width = len(f"L{len(plan.levels)}")
    for number, level in enumerate(plan.levels, start=1):
        shown = ", ".join(level[:_LEVEL_IDS_SHOWN])
        if len(level) > _LEVEL_IDS_SHOWN:
            shown += f", ... (+{len(level) - _LEVEL_IDS_SHOWN} more)"
        lines.append(f"  {f'L{number}':<{width}}  {shown}")
    lines += ["", "Critical path"]
    if plan.critical_path:
        lines.append(
            f"  {' -> '.join(plan.critical_path)}  ({format_duration(plan.critical_path_s)})"
        )
    else:
        lines.append("  (no steps)")
    if plan.branches:
        lines += ["", "Estimated on the longest branches"]
        lines += [f"  {d} -> {', '.join(then)}" for d, then in plan.branches.items()]
    lines += [
        "",
        "Estimate",
        f"  linear {format_duration(plan.linear_s)}  parallel {format_duration(plan.parallel_s)}"
        f"  saving {plan.saving_pct:g}%",
    ]
    if plan.lock_conflicts:
        lines += ["", "Lock conflicts (these steps cannot overlap)"]
        for c in plan.lock_conflicts:
            lines.append(f"  {c.lock}: {', '.join(c.steps)}  (costs {format_duration(c.delay_s)})")
    return "\n".join(lines) + "\n"