"""How long `warroom plan` takes on a 5,000-step runbook; the budget is 2 s.

A plain script, not a test: `python tests/bench/bench_plan.py`. It builds a layered random
DAG with a fixed seed (so every run times the same runbook), some exclusive and shared
locks and a max_parallel cap, then times build_plan + render_plan + to_json in process, and the whole `warroom plan FILE`
command (start-up, YAML reading, validation, planning, printing) on the same runbook written
as YAML. It exits 1 when either is over budget.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout, uninstalled

import yaml

from warroom.runbook.model import Lock, Runbook, Step, StepKind
from warroom.runbook.plan import build_plan, render_plan

STEPS = 5_000
LAYERS = 50
BUDGET_S = 2.0
LOCK_NAMES = ("db-primary", "web-fleet", "cdn", "dns", "queue")


def generated_runbook(seed: int = 7) -> Runbook:
    rng = random.Random(seed)
    per_layer = STEPS // LAYERS
    steps: list[Step] = []
    for layer in range(LAYERS):
        previous = [s.id for s in steps[-per_layer:]] if layer else []
        for k in range(per_layer):
            needs = tuple(rng.sample(previous, k=rng.randint(1, 3))) if previous else ()
            locks = ()
            if rng.random() < 0.1:
                locks = (Lock(rng.choice(LOCK_NAMES), shared=rng.random() < 0.5),)
            steps.append(
                Step(
                    id=f"s{layer:02d}-{k:03d}",
                    kind=StepKind.RUN,
                    command="true",
                    needs=needs,
                    locks=locks,
                    estimate_s=float(rng.randint(10, 600)),
                )
            )
    return Runbook(
        id="generated", title="Generated 5,000 steps", steps=tuple(steps), max_parallel=16
    )


def main() -> int:
    runbook = generated_runbook()
    began = time.perf_counter()
    plan = build_plan(runbook)
    text = render_plan(plan)
    json.dumps(plan.to_json())
    elapsed = time.perf_counter() - began
    conflicts = len(plan.lock_conflicts)
    print(f"steps {plan.steps}  levels {len(plan.levels)}  lock conflicts {conflicts}")
    print(next(line.strip() for line in text.splitlines() if line.startswith("  linear ")))
    print(f"plan + render + json: {elapsed:.3f} s (budget {BUDGET_S:.1f} s)")
    whole = time_command(runbook)
    print(f"warroom plan FILE (end to end, 5,000-step YAML): {whole:.3f} s (budget {BUDGET_S:.1f} s)")
    return 0 if max(elapsed, whole) < BUDGET_S else 1


def as_yaml(runbook: Runbook) -> str:
    steps = []
    for s in runbook.steps:
        item: dict[str, object] = {"id": s.id, "run": "true", "estimate": f"{int(s.estimate_s or 0)}s"}
        if s.needs:
            item["needs"] = list(s.needs)
        if s.locks:
            item["locks"] = [str(lock) for lock in s.locks]
        steps.append(item)
    return yaml.safe_dump({"runbook": runbook.id, "max_parallel": runbook.max_parallel, "steps": steps}, sort_keys=False)


def time_command(runbook: Runbook) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.yaml"
        path.write_text(as_yaml(runbook))
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "warroom", "plan", str(path)], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - began


if __name__ == "__main__":
    sys.exit(main())
