"""A runbook whose every step leaves its mark in a ledger file, driven from a shell as an
operator would, its runner SIGKILLed on cue: shared by the resume tests and the crash sweep
(`tests/bench/bench_crash.py`), which both judge a run by its ledger.

The commands append their step id to the ledger as their very last act, so once the killed
runner's orphaned children have finished the ledger tells the operator the truth about every
in-doubt step: the line is there (mark it done) or it is not (retry it).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from engine_support import ROOT, journal_events, journal_state, wait_until, write_runbook

from warroom.cli import main
from warroom.journal.errors import JournalError
from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.journal.store import JournalReader

LEDGER_RUNBOOK = """\
    runbook: ledger
    title: Every step leaves its mark
    mode: parallel
    vars: {{ledger: "{ledger}"}}
    roles: {{carol: commander}}
    steps:
      - id: prep
        run: sleep 0.05; echo prep >> {{{{ vars.ledger }}}}
      - id: fetch
        idempotent: true
        run: sleep 0.08; echo fetch >> {{{{ vars.ledger }}}}
      - id: probe
        check: sleep 0.03; echo probe >> {{{{ vars.ledger }}}}; echo mode=fast
        outputs: {{mode: {{regex: 'mode=(\\w+)'}}}}
      - id: route
        needs: [probe]
        decide:
          - when: steps.probe.outputs.mode == "fast"
            then: [fast-path]
          - else: [slow-path]
      - id: fast-path
        run: sleep 0.05; echo fast-path >> {{{{ vars.ledger }}}}
      - id: slow-path
        run: echo slow-path >> {{{{ vars.ledger }}}}
      - id: confirm
        needs: [prep, fetch]
        manual: Confirm the service is drained.
      - id: go
        needs: [prep]
        approval: Apply the change?
      - id: apply-a
        needs: [confirm, go, fast-path]
        run: sleep 0.08; echo apply-a >> {{{{ vars.ledger }}}}
      - id: apply-b
        needs: [confirm, go]
        run: sleep 0.05; echo apply-b >> {{{{ vars.ledger }}}}
      - id: verify
        needs: [apply-a, apply-b]
        check: sleep 0.03; echo verify >> {{{{ vars.ledger }}}}
      - id: finish
        needs: [verify]
        run: sleep 0.05; echo finish >> {{{{ vars.ledger }}}}
"""
ONCE = ("prep", "fast-path", "apply-a", "apply-b", "finish")  # not idempotent: exactly once
RERUNNABLE = ("fetch", "probe", "verify")  # idempotent or a check: at least once
NEVER = ("slow-path",)  # the branch not taken
TAG = "WARROOM_TEST_RUNNER"
"""Marks a runner's environment, which its step commands inherit: the test finds the orphans
of a killed runner by it (they live on in their own process groups)."""
KILLED = -signal.SIGKILL


def events_in(journal: Path) -> int:
    """Rows journaled so far; 0 while the runner has not created its journal yet."""
    try:
        with JournalReader(journal) as reader:
            return sum(info.events for info in reader.incidents())
    except JournalError:
        return 0


def tagged_processes(tag: str) -> list[int]:
    marker = f"{TAG}={tag}\0".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if marker in fh.read():
                    found.append(int(entry))
        except OSError:
            continue  # gone meanwhile, or not ours
    return found


@dataclass
class Incident:
    """One incident driven as an operator would from a shell, its runner killed on cue."""

    tmp: Path
    runbook: Path
    journal: Path
    ledger: Path
    runners: int = 0
    stderr: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, tmp: Path) -> Incident:
        ledger = tmp / "ledger.txt"
        runbook = write_runbook(tmp, LEDGER_RUNBOOK.format(ledger=ledger))
        return cls(tmp, runbook, tmp / "incident.db", ledger)

    def ledger_lines(self) -> Counter[str]:
        if not self.ledger.exists():
            return Counter()
        return Counter(self.ledger.read_text().split())

    def runner(self, *args: str, kill_at_events: int | None = None, jitter: float = 0.0,
               power_cut: bool = False) -> int:
        """`warroom run|resume --headless`: its exit code, or KILLED once the journal holds
        `kill_at_events` rows (plus `jitter` seconds). A killed runner's orphans finish and are
        awaited; with `power_cut` they die with it, as when the laptop itself dies."""
        self.runners += 1
        tag = f"{self.tmp.name}-{self.runners}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", *args, "--headless", "--journal", str(self.journal)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, TAG: tag, "PYTHONPATH": str(ROOT)},
        )
        if kill_at_events is not None:
            wait_until(lambda: proc.poll() is not None or events_in(self.journal) >= kill_at_events,
                       f"{kill_at_events} events")
            time.sleep(jitter)
            proc.send_signal(signal.SIGKILL)
            while power_cut and (orphans := tagged_processes(tag)):
                for pid in orphans:
                    with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                        os.kill(pid, signal.SIGKILL)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()  # a hung runner must not outlive the test
            proc.communicate()
            raise
        self.stderr.append(err)
        assert "Traceback" not in err, err
        if proc.returncode == KILLED:
            wait_until(lambda: not tagged_processes(tag), "the killed runner's orphans to end")
        return proc.returncode

    def command(self, *args: str) -> None:
        """A `warroom` command through the command line's own entry point (in this process:
        a dozen of them per incident would otherwise cost more than the runners)."""
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main([*args, "--journal", str(self.journal)])
        assert code == 0, err.getvalue()

    def has_incident(self) -> bool:
        return events_in(self.journal) > 0

    def answer(self, state: IncidentState) -> None:
        """What the people do when the runner stops for them."""
        runbook = state.runbook
        assert runbook is not None
        ran = self.ledger_lines()
        if "change-freeze" not in state.claims and not state.claim_history:
            self.command("claim", "change-freeze", "--force", "--as", "carol", "--reason", "no deploys today")
        for sid, s in state.steps.items():
            if s.status is StepStatus.IN_DOUBT:
                assert not runbook.step(sid).rerunnable, f"{sid} is safe to re-run, yet waits for a person"
                if ran[sid]:
                    self.command("done", sid, "--as", "carol", "--reason", "the ledger shows it ran")
                else:
                    self.command("retry", sid, "--as", "carol", "--reason", "the ledger shows it never ran")
            elif s.status is StepStatus.WAITING and s.waiting_on is not None and s.waiting_on.on == "person":
                if sid == "confirm":
                    self.command("done", "confirm", "--as", "bob")
                else:
                    assert sid == "go"
                    self.command("approve", "go", "--as", "carol")


def people_answered(state: IncidentState) -> bool:
    go = state.approvals.get("go")
    return go is not None and go.decision is not None and state.steps["confirm"].status is StepStatus.SUCCEEDED


def carry_to_end(inc: Incident, first_kill: int | None, second_kill: int | None, power_cut: bool,
                 rng: random.Random) -> None:
    """Runs the incident to its end: `run` is killed once its journal holds `first_kill` rows,
    and the first runner after the people answered once it has added `second_kill` rows."""
    code = inc.runner("run", str(inc.runbook), "--as", "ops", kill_at_events=first_kill,
                      jitter=rng.uniform(0, 0.02), power_cut=power_cut)
    armed = False
    for _ in range(12):
        if code == 0:
            return
        assert code in (KILLED, 3), inc.stderr[-1]
        if not inc.has_incident():  # killed before run.started was committed: nothing ran
            assert code == KILLED and not inc.ledger_lines()
            code = inc.runner("run", str(inc.runbook), "--as", "ops")
            continue
        if code == 3:
            inc.answer(journal_state(inc.journal))
        kill = None
        if not armed and people_answered(journal_state(inc.journal)):
            armed = True
            kill = None if second_kill is None else events_in(inc.journal) + second_kill
        code = inc.runner("resume", kill_at_events=kill, jitter=rng.uniform(0, 0.02), power_cut=power_cut)
    pytest.fail("the incident did not end after 12 runners:\n" + "\n".join(inc.stderr))


def assert_carried_over(inc: Incident) -> None:
    state = journal_state(inc.journal)
    events = journal_events(inc.journal)
    ledger = inc.ledger_lines()
    assert state.result is RunResult.SUCCEEDED
    assert {sid: ledger[sid] for sid in ONCE} == dict.fromkeys(ONCE, 1), ledger
    assert all(ledger[sid] >= 1 for sid in RERUNNABLE), ledger
    assert all(ledger[sid] == 0 for sid in NEVER), ledger
    finished: set[str] = set()
    for e in events:  # a committed result is never run again
        assert not (e.type == "step.started" and e.step in finished), f"{e.step} ran again after its result"
        if e.type in ("step.succeeded", "step.skipped"):
            finished.add(e.step or "")
    retries = Counter(o.step for o in state.overrides if o.action == "retry")
    reruns = Counter(o.step for o in state.overrides if o.action == "rerun")
    starts = Counter(e.step for e in events if e.type == "step.started")
    for sid in (*ONCE, *RERUNNABLE):  # a retry is a new attempt; a re-run after a crash repeats the cut one
        assert state.steps[sid].attempts == 1 + retries[sid], (sid, state.steps[sid].attempts, retries)
        assert starts[sid] == 1 + retries[sid] + reruns[sid], (sid, starts, reruns)
    approval = state.approvals["go"]
    assert (approval.decision, approval.by) == ("granted", "carol")
    assert sum(1 for e in events if e.type == "approval.requested") == 1
    assert [o.actor for o in state.overrides if o.step == "confirm"] == ["bob"]
    assert [(d.step, d.then) for d in state.decisions] == [("route", ("fast-path",))]
    assert state.steps["slow-path"].status is StepStatus.SKIPPED
    assert state.claims["change-freeze"].by == "carol" and len(state.claim_history) == 1
    inc.command("verify")


def kill_moments(count: int, seed: int = 8) -> list[tuple[float, float | None, bool]]:
    """(rows before killing `run`, rows before killing the runner after the people answered,
    whether the step commands die too), the rows as fractions of a clean run, from
    "immediately" to "almost done"."""
    rng = random.Random(seed)
    moments = [(0.0, None, False), (0.97, 0.97, True)]
    moments += [(rng.random(), rng.choice([None, rng.random()]), i % 2 == 0) for i in range(count - 2)]
    return moments


