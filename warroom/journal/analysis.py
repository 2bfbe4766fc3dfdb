"""The post-incident review, answered from the journal with figures.

The seed documents ask three questions of every review: which stages could have run in
parallel, where people waited on a sequential step, and which parallel threads conflicted.
This module answers them, adds the drill's after-action figures, and sets incidents side by
side (two drills, or every run of one runbook). Everything comes from folded state.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter, defaultdict
from typing import Any

from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.runbook.durations import format_duration
from warroom.runbook.model import Mode, Runbook, StepKind
from warroom.runbook.plan import build_plan

_PEOPLE = (StepKind.APPROVAL, StepKind.MANUAL, StepKind.ESCALATE)
_FAILED = (StepStatus.FAILED, StepStatus.UNDO_FAILED)


def relaxed(runbook: Runbook) -> Runbook:
    """The runbook with only its written needs: what "as parallel as the graph allows" means
    for a runbook (or phase) that was run in linear mode. People's steps and approvals stay
    where they are: in a linear scope each waits for every step before it and every step after
    it waits for it, since a gate or a person's check is there to hold back what follows."""
    scopes = [(p.mode, p.step_ids) for p in runbook.phases] or [(runbook.mode, runbook.step_ids)]
    extra: defaultdict[str, list[str]] = defaultdict(list)
    for mode, ids in scopes:
        if mode is not Mode.LINEAR:
            continue
        gate: str | None = None
        for i, sid in enumerate(ids):
            if runbook.step(sid).kind in _PEOPLE:
                extra[sid] += ids[:i]
                gate = sid
            elif gate is not None:
                extra[sid].append(gate)
    steps = tuple(
        dataclasses.replace(s, needs=tuple(dict.fromkeys((*s.needs, *extra[s.id])))) if extra.get(s.id) else s
        for s in runbook.steps
    )
    phases = tuple(dataclasses.replace(p, mode=Mode.PARALLEL) for p in runbook.phases)
    return dataclasses.replace(runbook, steps=steps, mode=Mode.PARALLEL, phases=phases)


def waits(state: IncidentState) -> dict[str, float]:
    """Seconds steps spent waiting, by what on: lock, claim, person, slot, retry."""
    totals: defaultdict[str, float] = defaultdict(float)
    for s in state.steps.values():
        for kind, seconds in s.waits.items():
            totals[kind] += seconds
    return {kind: round(totals[kind], 3) for kind in sorted(totals) if kind != "needs"}


def parallel_candidates(state: IncidentState, limit: int = 8) -> list[dict[str, Any]]:
    """Steps that started later than their written needs allowed because the runbook ran them
    in file order: each names the step it waited for without needing it, and for how long."""
    runbook = state.runbook
    assert runbook is not None
    steps = state.steps
    kept = relaxed(runbook)
    phase_end: dict[str, float] = {}
    for phase in runbook.phases:
        ends = [end for sid in phase.step_ids if (end := steps[sid].ended_at) is not None]
        phase_end[phase.id] = max(ends, default=0.0)
    found: list[dict[str, Any]] = []
    for step in runbook.steps:
        s = steps[step.id]
        if s.first_started_at is None:
            continue
        ready = state.started_mono or 0.0
        needs = kept.step(step.id).needs  # written, and people's steps kept where they are
        for need in needs:
            ended = steps[need].ended_at
            if ended is not None:
                ready = max(ready, ended)
        if step.phase is not None:
            index = next(i for i, p in enumerate(runbook.phases) if p.id == step.phase)
            if index:
                ready = max(ready, phase_end[runbook.phases[index - 1].id])
        implied = [n for n in runbook.needs_of(step.id) if n not in needs and runbook.step(n).kind is not StepKind.DECIDE]
        delay = s.first_started_at - ready
        if not implied or delay <= 0.001:
            continue
        found.append({"step": step.id, "waited_for": implied, "delay_s": round(delay, 3)})
    found.sort(key=lambda c: -c["delay_s"])
    return found[:limit]


def people_waits(state: IncidentState) -> list[dict[str, Any]]:
    """Where the run waited on a person: approvals, manual steps, escalations."""
    runbook = state.runbook
    assert runbook is not None
    result = []
    for sid, s in state.steps.items():
        step = runbook.step(sid)
        waited = s.waits.get("person", 0.0)
        if step.kind not in _PEOPLE or not waited:
            continue
        approval = state.approvals.get(sid)
        answered = approval.by if approval and approval.by else next(
            (o.actor for o in reversed(state.overrides) if o.step == sid), None)
        result.append({"step": sid, "kind": step.kind.value, "waited_s": round(waited, 3), "answered_by": answered})
    return sorted(result, key=lambda w: -w["waited_s"])


def conflicts(state: IncidentState) -> list[dict[str, Any]]:
    """Steps that waited on a lock another step held, or on a resource a person claimed."""
    result = []
    for sid, s in state.steps.items():
        for kind in ("lock", "claim"):
            seconds = s.waits.get(kind, 0.0)
            if not seconds:
                continue
            seen = [w for w in s.wait_log if w.on == kind]
            resources = sorted({(w.detail.split(" claimed")[0] if kind == "claim" else w.detail) for w in seen})
            holders = sorted({h for w in seen for h in w.holders})
            result.append({"step": sid, "on": kind, "resources": resources, "holders": holders, "waited_s": round(seconds, 3)})
    return sorted(result, key=lambda c: -c["waited_s"])


def concurrency(state: IncidentState) -> tuple[float, int]:
    """Average and peak number of steps running at once over the incident."""
    spans = [(a, b) for s in state.steps.values() for a, b in s.runs if b is not None]
    total = state.duration_s or 0.0
    if not spans or total <= 0:
        return 0.0, 0
    busy = sum(b - a for a, b in spans)
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    peak = level = 0
    for _, delta in edges:
        level += delta
        peak = max(peak, level)
    return round(busy / total, 2), peak


def decisions(state: IncidentState) -> list[dict[str, Any]]:
    """What people (and the decide steps) chose, in order."""
    out: list[dict[str, Any]] = []
    for sid, a in state.approvals.items():
        if a.decision:
            out.append({"ts": a.decided_at, "who": a.by, "what": f"{a.decision} {sid}", "reason": a.reason})
    for o in state.overrides:
        out.append({"ts": o.ts, "who": o.actor, "what": f"{o.action} {o.step or ''}".strip(), "reason": o.reason})
    for d in state.decisions:
        branch = f"when {d.when}" if d.when else "else"
        out.append({"ts": d.ts, "who": d.actor, "what": f"{d.step}: {branch} -> {', '.join(d.then) or 'nothing'}", "reason": ""})
    for c in state.claim_history:
        out.append({"ts": c.ts, "who": c.by, "what": f"claim {c.action} {c.resource}", "reason": c.reason})
    return sorted(out, key=lambda d: d["ts"] or 0.0)


def after_action(state: IncidentState) -> dict[str, Any]:
    """The after-action figures of a run (a drill's scorecard)."""
    runbook = state.runbook
    assert runbook is not None
    planned = build_plan(runbook).parallel_s
    mttr = state.duration_s or 0.0
    waited = waits(state)
    average, peak = concurrency(state)
    undos = sum(1 for s in state.steps.values() if s.status in (StepStatus.UNDONE, StepStatus.UNDO_FAILED))
    return {
        "mttr_s": mttr,
        "plan_s": planned,
        "vs_plan_pct": round(100.0 * (mttr - planned) / planned, 1) if planned else None,
        "approval_wait_s": round(sum(w["waited_s"] for w in people_waits(state) if w["kind"] == "approval"), 3),
        "person_wait_s": waited.get("person", 0.0),
        "lock_wait_s": waited.get("lock", 0.0),
        "claim_wait_s": waited.get("claim", 0.0),
        "parallelism_avg": average,
        "parallelism_peak": peak,
        "rolled_back": state.result is RunResult.ROLLED_BACK,
        "undone_steps": undos,
        "escalations": [{"to": e.to, "reason": e.reason, "step": e.step} for e in state.escalations],
        "injects": len(state.injects),
        "decisions": decisions(state),
    }


def review(state: IncidentState) -> dict[str, Any]:
    return {
        "waits": waits(state),
        "could_have_run_in_parallel": parallel_candidates(state),
        "people_waited_on": people_waits(state),
        "threads_conflicted": conflicts(state),
        "after_action": after_action(state),
    }


def render_review(data: dict[str, Any]) -> str:
    aa = data["after_action"]
    lines = ["", "After action"]
    vs = f" ({aa['vs_plan_pct']:+.1f}% against the plan)" if aa["vs_plan_pct"] is not None else ""
    lines.append(f"  MTTR {format_duration(aa['mttr_s'])}, plan estimate {format_duration(aa['plan_s'])}{vs}")
    lines.append(f"  waited on approvals {format_duration(aa['approval_wait_s'])}, on people {format_duration(aa['person_wait_s'])}, "
                 f"on locks {format_duration(aa['lock_wait_s'])}, on claims {format_duration(aa['claim_wait_s'])}")
    lines.append(f"  parallelism: {aa['parallelism_avg']:.2f} steps running on average, {aa['parallelism_peak']} at most")
    rollback = "rolled back" if aa["rolled_back"] else "no rollback"
    lines.append(f"  {rollback}; {aa['undone_steps']} undone; {len(aa['escalations'])} escalations; {aa['injects']} injects")
    for d in aa["decisions"]:
        why = f" ({d['reason']})" if d["reason"] else ""
        lines.append(f"    {d['who']}: {d['what']}{why}")
    lines += ["", "Which stages could have run in parallel?"]
    pairs = data["could_have_run_in_parallel"]
    lines += [f"  {p['step']} waited {format_duration(p['delay_s'])} for {', '.join(p['waited_for'])}, which it does not need (linear order)" for p in pairs] or ["  none: no step waited on one it does not need"]
    lines += ["", "Where did people wait on a sequential step?"]
    people = data["people_waited_on"]
    lines += [f"  {w['step']} ({w['kind']}) waited {format_duration(w['waited_s'])} for {w['answered_by'] or 'an answer'}" for w in people] or ["  nowhere"]
    lines += ["", "Did parallel threads conflict?"]
    clashes = data["threads_conflicted"]
    lines += [f"  {c['step']} waited {format_duration(c['waited_s'])} on {c['on']} {', '.join(c['resources'])} held by {', '.join(c['holders']) or '?'}" for c in clashes] or ["  no lock or claim waits"]
    return "\n".join(lines) + "\n"


def compare(a: dict[str, Any], b: dict[str, Any]) -> str:
    """Two reports (with review) side by side: two drills of the same runbook, say."""
    rows = [
        ("incident", a["incident"], b["incident"]),
        ("result", a["result"], b["result"]),
        ("MTTR", format_duration(a["mttr_s"]), format_duration(b["mttr_s"])),
        ("plan estimate", format_duration(a["review"]["after_action"]["plan_s"]), format_duration(b["review"]["after_action"]["plan_s"])),
        ("idle", format_duration(a["idle_s"]), format_duration(b["idle_s"])),
        ("approval waits", format_duration(a["review"]["after_action"]["approval_wait_s"]), format_duration(b["review"]["after_action"]["approval_wait_s"])),
        ("lock waits", format_duration(a["review"]["after_action"]["lock_wait_s"]), format_duration(b["review"]["after_action"]["lock_wait_s"])),
        ("claim waits", format_duration(a["review"]["after_action"]["claim_wait_s"]), format_duration(b["review"]["after_action"]["claim_wait_s"])),
        ("parallelism", f"{a['review']['after_action']['parallelism_avg']:.2f}", f"{b['review']['after_action']['parallelism_avg']:.2f}"),
        ("escalations", str(len(a["review"]["after_action"]["escalations"])), str(len(b["review"]["after_action"]["escalations"]))),
        ("rolled back", "yes" if a["review"]["after_action"]["rolled_back"] else "no", "yes" if b["review"]["after_action"]["rolled_back"] else "no"),
        ("critical path", " -> ".join(a["critical_path"]), " -> ".join(b["critical_path"])),
    ]
    width = max(len(r[1]) for r in rows[:-1])
    lines = [f"{label:<14}  {left:<{width}}  {right}" for label, left, right in rows]
    steps_a = {s["id"]: s for s in a["steps"]}
    lines += ["", f"{'step':<24}  {'A took':>8}  {'B took':>8}  A status / B status"]
    for s in b["steps"]:
        other = steps_a.get(s["id"], {})
        lines.append(f"{s['id']:<24}  {format_duration(other.get('duration_s')):>8}  {format_duration(s['duration_s']):>8}  {other.get('status', '-')} / {s['status']}")
    return "\n".join(lines) + "\n"


def runbook_summary(runbook_id: str, states: list[IncidentState]) -> dict[str, Any]:
    """Across every incident of a runbook: MTTR spread, steps that fail most, locks waited on."""
    finished = [s for s in states if s.duration_s is not None and s.result is not RunResult.RUNNING]
    mttrs = sorted(s.duration_s or 0.0 for s in finished)
    failures: Counter[str] = Counter()
    lock_waits: defaultdict[str, float] = defaultdict(float)
    for st in states:
        for sid, s in st.steps.items():
            if s.status in _FAILED or s.attempts > 1:
                failures[sid] += 1
            for w in s.wait_log:
                if w.on == "lock" and s.waits.get("lock"):
                    lock_waits[w.detail] += s.waits["lock"]
    return {
        "runbook": runbook_id,
        "incidents": [{"incident": s.incident, "result": s.result.value, "mttr_s": s.duration_s, "drill": s.drill} for s in states],
        "mttr_mean_s": statistics.fmean(mttrs) if mttrs else None,
        "mttr_median_s": statistics.median(mttrs) if mttrs else None,
        "mttr_p90_s": _percentile(mttrs, 90) if mttrs else None,
        "steps_failing_most": [{"step": k, "incidents": v} for k, v in failures.most_common(5)],
        "locks_waited_most": [{"lock": k, "waited_s": round(v, 3)} for k, v in sorted(lock_waits.items(), key=lambda kv: -kv[1])[:5]],
    }


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that occurred, as people read a p90."""
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


_BARS = " ▁▂▃▄▅▆▇█"


def render_runbook_summary(data: dict[str, Any]) -> str:
    lines = [f"runbook {data['runbook']}: {len(data['incidents'])} incidents"]
    if data["mttr_mean_s"] is None:
        return "\n".join(lines + ["  no finished incident yet"]) + "\n"
    lines.append(f"  MTTR mean {format_duration(data['mttr_mean_s'])}, median {format_duration(data['mttr_median_s'])}, p90 {format_duration(data['mttr_p90_s'])}")
    values = [i["mttr_s"] or 0.0 for i in data["incidents"] if i["mttr_s"] is not None]
    top = max(values) or 1.0
    spark = "".join(_BARS[min(8, int(round(8 * v / top)))] for v in values)
    lines.append(f"  MTTR by incident, oldest first: {spark}  (max {format_duration(top)})")
    lines.append("  steps that fail most: " + (", ".join(f"{f['step']} ({f['incidents']})" for f in data["steps_failing_most"]) or "none"))
    lines.append("  locks waited on most: " + (", ".join(f"{w['lock']} ({format_duration(w['waited_s'])})" for w in data["locks_waited_most"]) or "none"))
    return "\n".join(lines) + "\n"
