"""The list scheduler behind every estimate: a run replayed against needs, phase barriers,
`max_parallel` and locks, the same rules the engine obeys, with given step durations.

plan.py turns a runbook into the weights and steps to schedule (estimates, the branches
taken) and reads the plan off the result; the journal's report schedules a past run's
actual durations through the same functions, so estimates and hindsight share one scheduler.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

from warroom.runbook.graph import Structure
from warroom.runbook.model import Lock, Runbook


@dataclass(frozen=True)
class Schedule:
    """When each scheduled step starts and ends, in seconds from the start of the run."""

    start: dict[str, float]
    end: dict[str, float]
    makespan_s: float


@dataclass
class _LockState:
    exclusive_held: bool = False
    shared_held: int = 0
    exclusive_waiters: list[int] = field(default_factory=list)  # heap of step positions
    shared_waiters: list[int] = field(default_factory=list)
    # The one waiter of each kind given its chance to start: waking waiters one at a time
    # keeps a crowd of them from being requeued every time the lock changes hands.
    shared_baton: int | None = None
    exclusive_baton: int | None = None

    def admits(self, shared: bool) -> bool:
        return not self.exclusive_held and (shared or self.shared_held == 0)


def simulate(
    runbook: Runbook,
    graph: Structure,
    weights: list[float],
    included: list[bool],
    ignored_lock: str | None,
) -> Schedule:
    """Event-driven list scheduling: whenever steps end, start the ready ones in file order
    while a slot is free and their locks are; a step blocked on a lock waits on that lock
    and is looked at again only when the lock is released, so each event costs log V."""
    n = graph.step_count
    limit = runbook.max_parallel or math.inf
    wanted: list[tuple[Lock, ...]] = [
        tuple(lk for lk in step.locks if lk.name != ignored_lock) if included[i] else ()
        for i, step in enumerate(runbook.steps)
    ]
    states: dict[str, _LockState] = {}
    for step_locks in wanted:
        for lk in step_locks:
            states.setdefault(lk.name, _LockState())
    remaining = [len(p) for p in graph.preds]
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    ready: list[int] = []
    events: list[tuple[float, int]] = []
    baton_of: dict[int, tuple[str, bool]] = {}  # waiter -> (lock, shared) it was woken for
    running = 0

    def become_ready(nodes: list[int]) -> None:
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if node < n and included[node]:
                heapq.heappush(ready, node)
                continue
            for succ in graph.succs[node]:  # gates and skipped steps pass through at once
                remaining[succ] -= 1
                if remaining[succ] == 0:
                    stack.append(succ)

    def wake(name: str) -> None:
        state = states[name]
        if state.exclusive_held:
            return
        if state.shared_baton is None and state.shared_waiters:
            state.shared_baton = heapq.heappop(state.shared_waiters)
            baton_of[state.shared_baton] = (name, True)
            heapq.heappush(ready, state.shared_baton)
        if state.shared_held == 0 and state.exclusive_baton is None and state.exclusive_waiters:
            state.exclusive_baton = heapq.heappop(state.exclusive_waiters)
            baton_of[state.exclusive_baton] = (name, False)
            heapq.heappush(ready, state.exclusive_baton)

    def start_ready(now: float) -> None:
        nonlocal running
        while ready and running < limit:
            node = heapq.heappop(ready)
            passed = baton_of.pop(node, None)
            if passed is not None:
                if passed[1]:
                    states[passed[0]].shared_baton = None
                else:
                    states[passed[0]].exclusive_baton = None
            blocker = next(
                (lk for lk in wanted[node] if not states[lk.name].admits(lk.shared)), None
            )
            if blocker is not None:
                state = states[blocker.name]
                heapq.heappush(
                    state.shared_waiters if blocker.shared else state.exclusive_waiters, node
                )
            else:
                for lk in wanted[node]:
                    if lk.shared:
                        states[lk.name].shared_held += 1
                    else:
                        states[lk.name].exclusive_held = True
                running += 1
                start[graph.ids[node]] = now
                heapq.heappush(events, (now + weights[node], node))
            if passed is not None:
                wake(passed[0])  # started, or waits elsewhere: the next waiter's turn

    become_ready([node for node, count in enumerate(remaining) if count == 0])
    start_ready(0.0)
    while events:
        now = events[0][0]
        released: dict[str, None] = {}
        finished: list[int] = []
        while events and (not finished or events[0][0] == now):  # always one: time moves on
            _, node = heapq.heappop(events)
            running -= 1
            end[graph.ids[node]] = now
            for lk in wanted[node]:
                if lk.shared:
                    states[lk.name].shared_held -= 1
                else:
                    states[lk.name].exclusive_held = False
                released[lk.name] = None
            finished.append(node)
        for node in finished:
            for succ in graph.succs[node]:
                remaining[succ] -= 1
                if remaining[succ] == 0:
                    become_ready([succ])
        for name in released:
            wake(name)
        start_ready(now)
    return Schedule(start=start, end=end, makespan_s=max(end.values(), default=0.0))


def longest_chain(
    graph: Structure, weights: list[float], included: list[bool]
) -> tuple[list[str], float]:
    n = graph.step_count
    tail = [0.0] * len(graph.preds)  # the longest chain from a node to the end
    for node in reversed(graph.order):
        own = weights[node] if node < n and included[node] else 0.0
        tail[node] = own + max((tail[s] for s in graph.succs[node]), default=0.0)
    sources = [node for node in range(n) if not graph.preds[node]]
    if not sources:
        return [], 0.0
    node = min(sources, key=lambda s: (-tail[s], s))
    length = tail[node]
    path: list[str] = []
    while True:
        if node < n and included[node]:
            path.append(graph.ids[node])
        if not graph.succs[node]:
            return path, length
        node = min(graph.succs[node], key=lambda s: (-tail[s], s >= n, s))
