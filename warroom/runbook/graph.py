"""The dependency graph of a runbook: order, layers, reachability and cycles.

The loader, the planner, the scheduler and the console all ask the same questions of a
runbook (what must finish before this step, what runs side by side), so the answers are
computed here once. Phase barriers of hybrid runbooks are kept inside as one virtual gate
per phase boundary instead of an edge from every step of one phase to every step of the
next, so a runbook of thousands of steps stays linear in size; `dependency_graph` expands
them into explicit edges for readers that want a networkx graph.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warroom.runbook.model import Runbook

if TYPE_CHECKING:
    import networkx as nx

_CYCLES_PER_KNOT = 10  # a tangle of needs can hold exponentially many cycles; name a few


@dataclass(frozen=True)
class Structure:
    """Nodes 0..n-1 are the steps in file order; n.. are the phase gates.

    A gate needs every step of the phase before it and every step of the next phase needs
    the gate, so it carries the barrier without a quadratic number of edges.
    """

    ids: tuple[str, ...]
    index: dict[str, int]
    preds: tuple[tuple[int, ...], ...]
    succs: tuple[tuple[int, ...], ...]
    order: tuple[int, ...]  # every node, topologically, ties broken by file order

    @property
    def step_count(self) -> int:
        return len(self.ids)

    def is_gate(self, node: int) -> bool:
        return node >= len(self.ids)


class CycleError(ValueError):
    """The needs of a runbook loop back on themselves; the loader reports it before this."""


_CACHE: dict[int, tuple[weakref.ref[Runbook], Structure]] = {}


def structure(runbook: Runbook) -> Structure:
    """The graph of a runbook, built once per runbook object (runbooks are immutable)."""
    key = id(runbook)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is runbook:
        return hit[1]
    built = _build(runbook)

    def forget(_ref: weakref.ref[Runbook], key: int = key) -> None:
        _CACHE.pop(key, None)

    _CACHE[key] = (weakref.ref(runbook, forget), built)
    return built


def _build(runbook: Runbook) -> Structure:
    ids = runbook.step_ids
    index = {step_id: i for i, step_id in enumerate(ids)}
    preds: list[list[int]] = [[index[n] for n in runbook.needs_of(s)] for s in ids]
    phases = [
        [index[s] for s in phase.step_ids if s in index] for phase in runbook.phases
    ]
    phases = [members for members in phases if members]
    for before, after in zip(phases, phases[1:]):
        gate = len(preds)
        preds.append(list(before))
        for member in after:
            preds[member].append(gate)
    succs: list[list[int]] = [[] for _ in preds]
    for node, node_preds in enumerate(preds):
        for p in node_preds:
            succs[p].append(node)
    order = _kahn(len(ids), preds, succs)
    if len(order) < len(preds):
        cycles = find_cycles({s: runbook.needs_of(s) for s in ids})
        if cycles:
            raise CycleError(
                "dependency cycle: " + "; ".join(" -> ".join(c + c[:1]) for c in cycles)
            )
        placed = set(order)
        stuck = ", ".join(s for i, s in enumerate(ids) if i not in placed)
        raise CycleError(f"steps need a step of a later phase: {stuck}")
    return Structure(
        ids=ids,
        index=index,
        preds=tuple(tuple(p) for p in preds),
        succs=tuple(tuple(s) for s in succs),
        order=tuple(order),
    )


def _kahn(step_count: int, preds: list[list[int]], succs: list[list[int]]) -> list[int]:
    """Topological order; among ready nodes gates go first, then steps in file order."""
    remaining = [len(p) for p in preds]
    ready = [(-1 if n >= step_count else n, n) for n, r in enumerate(remaining) if r == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for s in succs[node]:
            remaining[s] -= 1
            if remaining[s] == 0:
                heapq.heappush(ready, (-1 if s >= step_count else s, s))
    return order


def dependency_graph(runbook: Runbook) -> nx.DiGraph:
    """Steps as nodes (attribute `order`: file position), an edge need -> step for every
    effective need (kind="needs") and, in hybrid runbooks, from every terminal step of a
    phase to every step of the next phase (kind="phase")."""
    import networkx as nx  # only readers that want a networkx graph pay for importing it

    graph = nx.DiGraph()
    for i, step in enumerate(runbook.steps):
        graph.add_node(step.id, order=i, step=step)
    for step in runbook.steps:
        for need in runbook.needs_of(step.id):
            graph.add_edge(need, step.id, kind="needs")
    phases = [[s for s in p.step_ids if s in graph] for p in runbook.phases]
    phases = [members for members in phases if members]
    for before, after in zip(phases, phases[1:]):
        members = set(before)
        terminals = [s for s in before if not any(d in members for d in graph.successors(s))]
        for terminal in terminals:
            for step_id in after:
                if not graph.has_edge(terminal, step_id):
                    graph.add_edge(terminal, step_id, kind="phase")
    return graph


def find_cycles(needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every knot of needs that loops, as cycles of step ids, each id needed by the next
    (the last by the first), starting at the step written first. Needs naming unknown steps
    are ignored here: the loader reports those on their own."""
    position = {step_id: i for i, step_id in enumerate(needs)}
    preds = [[position[n] for n in step_needs if n in position] for step_needs in needs.values()]
    succs: list[list[int]] = [[] for _ in preds]
    for node, node_preds in enumerate(preds):
        for pred in node_preds:
            succs[pred].append(node)
    if len(_kahn(len(preds), preds, succs)) == len(preds):
        return []  # acyclic, the common case: networkx (slow to import) is not needed
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(needs)
    for step_id, step_needs in needs.items():
        graph.add_edges_from((n, step_id) for n in step_needs if n in position)
    found: set[tuple[str, ...]] = set()
    for knot in nx.strongly_connected_components(graph):
        sub = graph.subgraph(knot)
        if len(knot) == 1 and not any(sub.has_edge(n, n) for n in knot):
            continue
        for cycle in itertools.islice(nx.simple_cycles(sub), _CYCLES_PER_KNOT):
            first = min(range(len(cycle)), key=lambda i: position[cycle[i]])
            found.add(tuple(cycle[first:] + cycle[:first]))
    return [list(c) for c in sorted(found, key=lambda c: (position[c[0]], len(c), c))]


def topological_order(runbook: Runbook) -> list[str]:
    """Step ids so every step comes after what it needs; ties broken by file order."""
    graph = structure(runbook)
    return [graph.ids[n] for n in graph.order if not graph.is_gate(n)]


def levels(runbook: Runbook) -> list[list[str]]:
    """Steps layered by longest path: a step's level is one more than the highest level
    among what it needs (and the previous phase, if any), so each layer can run side by
    side. Each layer lists its steps in file order."""
    graph = structure(runbook)
    level = [0] * len(graph.preds)
    for node in graph.order:
        highest = max((level[p] for p in graph.preds[node]), default=0)
        level[node] = highest if graph.is_gate(node) else highest + 1
    layers: list[list[str]] = [[] for _ in range(max(level[: graph.step_count], default=0))]
    for i, step_id in enumerate(graph.ids):
        layers[level[i] - 1].append(step_id)
    return layers


def ancestors(runbook: Runbook, step_id: str) -> set[str]:
    """Every step that must have ended before `step_id` may start."""
    graph = structure(runbook)
    return _reach(graph, graph.index[step_id], graph.preds)


def descendants(runbook: Runbook, step_id: str) -> set[str]:
    """Every step that cannot start before `step_id` has ended."""
    graph = structure(runbook)
    return _reach(graph, graph.index[step_id], graph.succs)


def _reach(graph: Structure, start: int, edges: tuple[tuple[int, ...], ...]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    seen.discard(start)
    return {graph.ids[n] for n in seen if not graph.is_gate(n)}
