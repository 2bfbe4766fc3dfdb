"""Plan figures on small graphs whose answers were worked out by hand (in the comments)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.runbook.graph import (
    CycleError,
    ancestors,
    dependency_graph,
    descendants,
    find_cycles,
    levels,
    topological_order,
)
from warroom.runbook.model import (
    Branch,
    DrillBlock,
    FailurePolicy,
    Lock,
    Mode,
    Model,
    Phase,
    Runbook,
    Step,
    StepKind,
    Thread,
)
from warroom.runbook.plan import build_plan, critical_path, render_plan, schedule, step_estimate

M = 60.0


def step(
    step_id: str,
    minutes: float | None = None,
    needs: tuple[str, ...] = (),
    locks: tuple[str, ...] = (),
    **extra: object,
) -> Step:
    """A run step; locks written as in YAML ("db" exclusive, "db:shared" shared)."""
    parsed = tuple(
        Lock(lk.split(":")[0], shared=lk.endswith(":shared")) for lk in locks
    )
    kind = extra.pop("kind", StepKind.RUN)
    return Step(
        id=step_id,
        kind=kind,  # type: ignore[arg-type]
        command="true" if kind is StepKind.RUN else None,
        estimate_s=None if minutes is None else minutes * M,
        needs=needs,
        locks=parsed,
        **extra,  # type: ignore[arg-type]
    )


def book(*steps: Step, **fields: object) -> Runbook:
    return Runbook(id="rb", title="Test", steps=steps, **fields)  # type: ignore[arg-type]


def hybrid(*phases: tuple[str, Mode, list[Step]], **fields: object) -> Runbook:
    """Phases of steps, the way the loader flattens them: each step knows its phase."""
    steps = tuple(
        Step(**{**s.__dict__, "phase": pid}) for pid, _, members in phases for s in members
    )
    return book(
        *steps,
        phases=tuple(
            Phase(pid, mode, FailurePolicy.FAIL_FAST, None, tuple(s.id for s in members))
            for pid, mode, members in phases
        ),
        **fields,
    )


def web_outage() -> Runbook:
    # restart web 20m || purge CDN 15m, then verify 5m.
    # linear 20+15+5 = 40m; parallel max(20, 15) + 5 = 25m; saving 15/40 = 37.5%.
    return book(
        step("restart-web", 20),
        step("purge-cdn", 15),
        step("verify", 5, needs=("restart-web", "purge-cdn")),
        threads=(Thread("app", "Application"),),
    )


def diamond(**fields: object) -> Runbook:
    # a 5 -> (b 10 | c 3) -> d 2: linear 20; parallel 5 + max(10, 3) + 2 = 17.
    return book(
        step("a", 5),
        step("b", 10, needs=("a",)),
        step("c", 3, needs=("a",)),
        step("d", 2, needs=("b", "c")),
        **fields,
    )


def test_diamond_figures() -> None:
    plan = build_plan(diamond())
    assert plan.levels == [["a"], ["b", "c"], ["d"]]
    assert plan.critical_path == ["a", "b", "d"]
    assert plan.critical_path_s == 17 * M
    assert (plan.linear_s, plan.parallel_s) == (20 * M, 17 * M)
    assert plan.saving_pct == 15.0  # 3/20
    assert plan.model is Model.PARALLEL


def test_web_outage_from_the_seed() -> None:
    plan = build_plan(web_outage())
    assert (plan.linear_s, plan.parallel_s, plan.saving_pct) == (40 * M, 25 * M, 37.5)
    assert plan.critical_path == ["restart-web", "verify"]
    assert plan.levels == [["restart-web", "purge-cdn"], ["verify"]]
    assert plan.lock_conflicts == []


def test_max_parallel_one_is_linear() -> None:
    plan = build_plan(diamond(max_parallel=1))
    assert plan.parallel_s == plan.linear_s == 20 * M
    assert plan.saving_pct == 0.0


def test_max_parallel_two_on_four_independent_steps() -> None:
    # four 10m steps, two at a time: a, b at 0; c, d at 10; done at 20m.
    rb = book(*(step(s, 10) for s in "abcd"), max_parallel=2)
    result = schedule(rb)
    assert result.makespan_s == 20 * M
    assert result.start == {"a": 0, "b": 0, "c": 10 * M, "d": 10 * M}


def test_exclusive_lock_serializes_independent_steps() -> None:
    # a 10 and b 10 both want db exclusively: 10 + 10 = 20m, instead of 10m without it.
    plan = build_plan(book(step("a", 10, locks=("db",)), step("b", 10, locks=("db",))))
    assert plan.parallel_s == 20 * M
    [conflict] = plan.lock_conflicts
    assert (conflict.lock, conflict.steps, conflict.delay_s) == ("db", ("a", "b"), 10 * M)


def test_shared_locks_overlap() -> None:
    plan = build_plan(
        book(step("a", 10, locks=("db:shared",)), step("b", 10, locks=("db:shared",)))
    )
    assert plan.parallel_s == 10 * M
    assert plan.lock_conflicts == []


def test_exclusive_and_shared_serialize() -> None:
    # a holds db exclusively 0-10, b (shared) waits: 10 + 10 = 20m.
    plan = build_plan(book(step("a", 10, locks=("db",)), step("b", 10, locks=("db:shared",))))
    assert plan.parallel_s == 20 * M
    assert [(c.lock, c.steps) for c in plan.lock_conflicts] == [("db", ("a", "b"))]


def test_lock_on_a_chain_is_no_conflict() -> None:
    # b needs a: they never overlap anyway, so the lock costs nothing and is not reported.
    plan = build_plan(book(step("a", 10, locks=("db",)), step("b", 10, ("a",), locks=("db",))))
    assert plan.parallel_s == 20 * M
    assert plan.lock_conflicts == []


def test_only_steps_that_could_overlap_are_named() -> None:
    # a -> b both lock db (a chain, no rivals of each other); c locks db and is
    # independent of both, so all three are named. a 0-10; at 10 b and c are ready and b
    # is written first: b 10-20, c 20-25.
    rb = book(
        step("a", 10, locks=("db",)),
        step("b", 10, ("a",), locks=("db",)),
        step("c", 5, locks=("db",)),
        step("d", 1),
    )
    plan = build_plan(rb)
    assert schedule(rb).start["c"] == 20 * M
    assert plan.parallel_s == 25 * M
    [conflict] = plan.lock_conflicts
    assert conflict.steps == ("a", "b", "c")
    assert conflict.delay_s == 5 * M  # without the lock: a, b chain 20m, c alongside


def test_a_step_blocked_on_another_lock_lets_the_next_waiter_go() -> None:
    # h1 holds L 0-10, h2 holds M 0-20. w1 wants L and M, w2 wants L.
    # At 10 L frees: w1 still waits for M, so w2 takes L 10-15; w1 runs 20-25.
    rb = book(
        step("h1", 10, locks=("L",)),
        step("h2", 20, locks=("M",)),
        step("w1", 5, locks=("L", "M")),
        step("w2", 5, locks=("L",)),
    )
    result = schedule(rb)
    assert result.start == {"h1": 0, "h2": 0, "w1": 20 * M, "w2": 10 * M}
    assert result.makespan_s == 25 * M


def test_linear_mode_is_the_sum() -> None:
    # file order chains a 5 -> b 10 -> c 3: 18m either way.
    plan = build_plan(book(step("a", 5), step("b", 10), step("c", 3), mode=Mode.LINEAR))
    assert plan.linear_s == plan.parallel_s == 18 * M
    assert plan.levels == [["a"], ["b"], ["c"]]
    assert plan.critical_path == ["a", "b", "c"]
    assert plan.model is Model.LINEAR


def test_phases_are_barriers() -> None:
    # phase 1 parallel a 5 | b 10, phase 2 parallel c 3: c starts at 10, done at 13m.
    rb = hybrid(
        ("contain", Mode.PARALLEL, [step("a", 5), step("b", 10)]),
        ("recover", Mode.PARALLEL, [step("c", 3)]),
    )
    plan = build_plan(rb)
    assert plan.model is Model.HYBRID
    assert plan.parallel_s == 13 * M
    assert plan.linear_s == 18 * M
    assert plan.levels == [["a", "b"], ["c"]]
    assert plan.critical_path == ["b", "c"]
    edges = dependency_graph(rb).edges(data="kind")
    assert sorted(edges) == [("a", "c", "phase"), ("b", "c", "phase")]
    assert ancestors(rb, "c") == {"a", "b"}


def test_linear_phase_then_parallel_phase() -> None:
    # phase 1 linear a 2 -> b 3 (5m); phase 2 parallel c 4 | d 6 (6m): 11m; linear 15m.
    # Only b ends phase 1, so the barrier edges run from b alone.
    rb = hybrid(
        ("prep", Mode.LINEAR, [step("a", 2), step("b", 3)]),
        ("fix", Mode.PARALLEL, [step("c", 4), step("d", 6)]),
    )
    plan = build_plan(rb)
    assert (plan.linear_s, plan.parallel_s) == (15 * M, 11 * M)
    assert plan.levels == [["a"], ["b"], ["c", "d"]]
    graph = dependency_graph(rb)
    assert graph.edges["a", "b"]["kind"] == "needs"
    assert {e for e in graph.edges if graph.edges[e]["kind"] == "phase"} == {("b", "c"), ("b", "d")}


def adaptive() -> Runbook:
    # triage decides: branch A rolls back (10m), else branch B rebuilds (30m); close 5m
    # needs both (a skipped need counts as met). Longest branch B: 0 + 30 + 5 = 35m.
    return book(
        step(
            "triage",
            kind=StepKind.DECIDE,
            branches=(Branch("vars.bad_deploy", ("rollback",)), Branch(None, ("rebuild",))),
        ),
        step("rollback", 10),
        step("rebuild", 30),
        step("close", 5, needs=("rollback", "rebuild")),
    )


def test_adaptive_is_estimated_on_the_longest_branch() -> None:
    plan = build_plan(adaptive())
    assert plan.model is Model.ADAPTIVE
    assert (plan.linear_s, plan.parallel_s) == (35 * M, 35 * M)
    assert plan.branches == {"triage": ("rebuild",)}
    assert plan.critical_path == ["triage", "rebuild", "close"]
    assert plan.to_json()["branches"] == {"triage": ["rebuild"]}


def test_untaken_branch_skips_its_dependents() -> None:
    # Branch A: a1 10m -> a2 25m (a2 depends only on A, so it goes with it) = 35m.
    # Branch B: b 30m. Longest is A: 35m, linear 35m (b and its step not counted).
    rb = book(
        step("d", kind=StepKind.DECIDE, branches=(Branch("x", ("a1",)), Branch(None, ("b",)))),
        step("a1", 10),
        step("a2", 25, needs=("a1",)),
        step("b", 30),
    )
    plan = build_plan(rb)
    assert (plan.linear_s, plan.parallel_s) == (35 * M, 35 * M)
    assert plan.branches == {"d": ("a1",)}


def test_cycles_list_every_member() -> None:
    # a needs c, b needs a, c needs b: a -> b -> c -> a. x needs itself. d is fine.
    needs = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["a", "ghost"], "x": ["x"]}
    assert find_cycles(needs) == [["a", "b", "c"], ["x"]]
    assert find_cycles({"a": [], "b": ["a"]}) == []


def test_cyclic_runbook_is_refused_with_its_cycle() -> None:
    rb = book(step("a", 1, ("b",)), step("b", 1, ("a",)))
    with pytest.raises(CycleError, match="a -> b -> a"):
        topological_order(rb)


def test_levels_topological_order_and_reach() -> None:
    # e needs nothing but is written last; c needs e: levels by longest path.
    rb = book(
        step("a", 1),
        step("b", 1, ("a",)),
        step("c", 1, ("b", "e")),
        step("d", 1),
        step("e", 1),
    )
    assert levels(rb) == [["a", "d", "e"], ["b"], ["c"]]
    assert topological_order(rb) == ["a", "b", "d", "e", "c"]
    assert ancestors(rb, "c") == {"a", "b", "e"}
    assert descendants(rb, "a") == {"b", "c"}
    assert descendants(rb, "d") == set()


def test_counterfactual_schedule_with_actual_durations_and_a_subset() -> None:
    # Only restart-web (took 30m) and verify (took 2m) ran; purge-cdn did not and holds
    # nothing: 30 + 2 = 32m, purge-cdn left out.
    rb = web_outage()
    result = schedule(
        rb, {"restart-web": 30 * M, "verify": 2 * M}, include={"restart-web", "verify"}
    )
    assert result.makespan_s == 32 * M
    assert set(result.end) == {"restart-web", "verify"}
    assert critical_path(rb, {"restart-web": 1 * M, "purge-cdn": 9 * M}) == ["purge-cdn", "verify"]


def test_excluded_steps_hold_no_locks() -> None:
    rb = book(step("a", 10, locks=("db",)), step("b", 10, locks=("db",)))
    assert schedule(rb, include={"b"}).start == {"b": 0}


def test_step_estimate_rule() -> None:
    assert step_estimate(step("a", 3)) == 180
    drill = DrillBlock(duration_s=(60.0, 180.0))
    assert step_estimate(step("b", drill=drill)) == 120
    assert step_estimate(Step("c", StepKind.WAIT, wait_s=300.0)) == 300
    assert step_estimate(Step("d", StepKind.MANUAL, instructions="look")) == 0


def test_json_carries_the_design_fields() -> None:
    data = build_plan(web_outage()).to_json()
    assert data["runbook"] == "rb"
    assert data["model"] == "parallel"
    assert data["steps"] == 3
    assert data["levels"] == [["restart-web", "purge-cdn"], ["verify"]]
    assert data["critical_path"] == ["restart-web", "verify"]
    assert data["estimate"]["linear_s"] == 2400
    assert data["estimate"]["parallel_s"] == 1500
    assert data["estimate"]["saving_pct"] == 37.5
    assert data["lock_conflicts"] == []
    assert data["threads"] == {"app": []}
    assert data["max_parallel"] is None


def test_render_reads_at_a_glance() -> None:
    text = render_plan(build_plan(web_outage()))
    assert text.splitlines()[0] == "rb: Test  (parallel, 3 steps)"
    assert "  L1  restart-web, purge-cdn" in text
    assert "  restart-web -> verify  (25m00s)" in text
    assert "  linear 40m00s  parallel 25m00s  saving 37.5%" in text
    conflict = render_plan(
        build_plan(book(step("a", 10, locks=("db",)), step("b", 10, locks=("db",))))
    )
    assert "  db: a, b  (costs 10m00s)" in conflict


@st.composite
def random_runbooks(draw: st.DrawFn) -> Runbook:
    count = draw(st.integers(1, 8))
    steps = []
    for i in range(count):
        needs = draw(st.sets(st.sampled_from(range(i)), max_size=2)) if i else set()
        locks = draw(st.lists(st.sampled_from(["L", "L:shared", "M", "M:shared"]), max_size=2))
        names = {lk.split(":")[0] for lk in locks}
        locks = [next(lk for lk in locks if lk.startswith(n)) for n in sorted(names)]
        needs_ids = tuple(f"s{n}" for n in sorted(needs))
        steps.append(step(f"s{i}", draw(st.integers(1, 5)), needs_ids, tuple(locks)))
    return book(*steps, max_parallel=draw(st.none() | st.integers(1, 3)))


@settings(max_examples=150, deadline=None)
@given(random_runbooks())
def test_schedule_obeys_every_rule_and_never_idles_needlessly(rb: Runbook) -> None:
    result = schedule(rb)
    cap = rb.max_parallel or len(rb.steps)

    def running_at(t: float) -> list[Step]:
        return [s for s in rb.steps if result.start[s.id] <= t < result.end[s.id]]

    def admitted(s: Step, t: float) -> bool:
        held = [lk for other in running_at(t) if other is not s for lk in other.locks]
        return all(
            not (h.name == lk.name and not (h.shared and lk.shared)) for lk in s.locks for h in held
        )

    for s in rb.steps:
        start = result.start[s.id]
        ready = max((result.end[n] for n in rb.needs_of(s.id)), default=0.0)
        assert start >= ready
        assert len(running_at(start)) <= cap
        assert admitted(s, start)
        # Waiting is only ever for a slot or a lock, at every moment something changed.
        for t in sorted({e for e in [ready, *result.end.values()] if ready <= e < start}):
            assert len(running_at(t)) >= cap or not admitted(s, t)
    assert result.makespan_s == max(result.end.values())
