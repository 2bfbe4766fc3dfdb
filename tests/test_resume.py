"""`warroom resume` after a SIGKILL of the runner at many moments: nothing that must not run
twice runs twice, people's answers and claims carry over, and the journal still verifies.

The runbook's commands append their step id to a ledger file as their very last act, so once
the killed runner's orphaned children have finished the ledger tells the operator the truth
about every in-doubt step: the line is there (mark it done) or it is not (retry it).
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
from engine_support import (
    LONG_RUNBOOK, ROOT, cli, drive, journal_events, journal_state, runbook as runbook_at, start_long_run, wait_until,
    write_runbook,
)

from warroom.cli import main
from warroom.engine.clock import VirtualClock
from warroom.engine.drill import load_injects
from warroom.engine.loop import Engine
from warroom.journal.errors import JournalError
from warroom.journal.events import ENGINE, EventType, NewEvent
from warroom.journal.state import IncidentState, RunResult, StepStatus
from warroom.journal.store import JournalReader, JournalWriter

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


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, int]:
    """Rows a runner journals without a kill: up to the first stop for people, and after it."""
    inc = Incident.create(tmp_path_factory.mktemp("clean"))
    assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    first = events_in(inc.journal)
    inc.answer(journal_state(inc.journal))
    before = events_in(inc.journal)
    assert inc.runner("resume") == 0
    assert_carried_over(inc)
    return first, events_in(inc.journal) - before


def kill_moments(count: int, seed: int = 8) -> list[tuple[float, float | None, bool]]:
    """(rows before killing `run`, rows before killing the runner after the people answered,
    whether the step commands die too), the rows as fractions of a clean run, from
    "immediately" to "almost done"."""
    rng = random.Random(seed)
    moments = [(0.0, None, False), (0.97, 0.97, True)]
    moments += [(rng.random(), rng.choice([None, rng.random()]), i % 2 == 0) for i in range(count - 2)]
    return moments


MOMENTS = kill_moments(12)


@pytest.mark.parametrize("first, second, power_cut", MOMENTS, ids=[
    f"{a:.2f}-{'none' if b is None else f'{b:.2f}'}{'-power-cut' if cut else ''}" for a, b, cut in MOMENTS])
def test_resume_after_sigkill_runs_nothing_twice(tmp_path: Path, clean_run: tuple[int, int], first: float,
                                                  second: float | None, power_cut: bool) -> None:
    rows_first, rows_second = clean_run
    inc = Incident.create(tmp_path)
    first_kill = round(first * rows_first)
    second_kill = None if second is None else round(second * rows_second)
    carry_to_end(inc, first_kill, second_kill, power_cut, random.Random(f"{first}:{second}"))
    assert_carried_over(inc)


# one runner per journal, and resume's other refusals ------------------------------------------
def test_a_second_runner_or_operator_on_a_live_journal_is_refused(tmp_path: Path) -> None:
    live, journal = start_long_run(tmp_path)
    try:
        for args in (("run", str(tmp_path / "rb.yaml"), "--headless"), ("resume", "--headless"),
                     ("note", "who is on the bridge?"), ("skip", "soak", "--reason", "taking over")):
            res = cli(*args, "--journal", str(journal))
            assert res.returncode == 1, (args, res.stderr)
            assert f"in use by process {live.pid}" in res.stderr, res.stderr
            assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    finally:
        live.send_signal(signal.SIGTERM)
        live.communicate(timeout=15)
    state = journal_state(journal)
    assert state.notes == [] and state.result is RunResult.INTERRUPTED


def test_resume_uses_the_journaled_runbook_and_says_what_changed(tmp_path: Path) -> None:
    inc = Incident.create(tmp_path)
    assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    inc.answer(journal_state(inc.journal))
    text = inc.runbook.read_text()
    inc.runbook.write_text(text.replace("echo finish >>", "echo CHANGED >>")
                           + "  - id: extra\n    run: echo extra >> /dev/null\n")
    assert inc.runner("resume") == 0
    assert "the runbook changed since" in inc.stderr[-1] and "added extra" in inc.stderr[-1]
    assert "changed finish" in inc.stderr[-1] and "journaled copy" in inc.stderr[-1]
    assert inc.ledger_lines()["finish"] == 1 and not inc.ledger_lines()["CHANGED"]
    resumed = [e for e in journal_events(inc.journal) if e.type == "run.resumed"]
    assert resumed[-1].data["runbook_changed"] is True and "extra" not in journal_state(inc.journal).steps


@pytest.mark.parametrize("setup, args, message", [
    ("incident", ("resume", "nope-1", "--headless"), "no incident 'nope-1'"),
    ("text", ("resume", "--headless"), "not a warroom journal"),
    ("missing", ("resume", "--headless"), "no journal here"),
    ("incident", ("retry", "ghost", "--reason", "x"), "no step 'ghost'"),
])
def test_resume_of_what_is_not_there_is_one_clear_line(tmp_path: Path, setup: str, args: tuple[str, ...],
                                                       message: str) -> None:
    journal = tmp_path / "j.db"
    if setup == "incident":
        inc = Incident.create(tmp_path)
        journal = inc.journal
        assert inc.runner("run", str(inc.runbook), "--as", "ops") == 3
    elif setup == "text":
        journal.write_text("not a database, just notes\n" * 20)
    res = cli(*args, "--journal", str(journal))
    assert res.returncode == 1
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr


async def test_an_idempotent_step_left_in_doubt_by_a_killed_resume_still_reruns(tmp_path: Path) -> None:
    live, journal = start_long_run(tmp_path)
    live.send_signal(signal.SIGKILL)
    live.communicate(timeout=10)
    os.killpg(int((tmp_path / "pgid").read_text()), signal.SIGKILL)
    state = journal_state(journal)
    assert state.steps["soak"].status is StepStatus.RUNNING
    async with await JournalWriter.open(journal) as writer:  # what the killed resume committed first
        await writer.resume_incident(state.incident)
        mono = state.last_mono or 0.0
        await writer.append([
            NewEvent(EventType.RUN_RESUMED, "ops", time.time(), mono, None, {"runbook_changed": False, "diff": ""}),
            NewEvent(EventType.STEP_IN_DOUBT, ENGINE, time.time(), mono, "soak", {"attempt": 1}),
        ])
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    assert journal_state(journal).steps["soak"].status is StepStatus.SUCCEEDED


def test_run_on_the_empty_journal_a_run_killed_at_birth_left(tmp_path: Path) -> None:
    """`warroom run` killed between creating its journal file and writing the schema leaves an
    empty file (and its lock file); running again on that journal must work."""
    rb = write_runbook(tmp_path, LONG_RUNBOOK.format(dir=tmp_path))
    (tmp_path / "marker").touch()  # the step ends at once
    journal = tmp_path / "j.db"
    journal.touch(mode=0o600)
    Path(f"{journal}.lock").touch(mode=0o600)
    res = cli("run", str(rb), "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr


def test_a_resumed_drill_keeps_its_speed(tmp_path: Path) -> None:
    """A facilitator's drill at --speed 20 goes on at 20 after a resume: its 40 s wait still
    takes 2 real seconds, not none."""
    rb = write_runbook(tmp_path, """\
        runbook: paced
        steps:
          - id: brief
            manual: Brief the team.
          - id: settle
            needs: [brief]
            wait: 40s
        """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--drill", "--speed", "20", "--journal", str(journal)).returncode == 3
    assert cli("done", "brief", "--journal", str(journal)).returncode == 0
    began = time.monotonic()
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - began >= 2.0


ROLLBACK_RUNBOOK = """\
    runbook: rollback
    on_failure: fail-fast
    vars: {{dir: "{dir}"}}
    steps:
      - id: drain
        run: echo drain >> {{{{ vars.dir }}}}/ledger
        undo: echo undo-drain >> {{{{ vars.dir }}}}/ledger
      - id: migrate
        run: echo migrate >> {{{{ vars.dir }}}}/ledger
        undo: echo $$ > {{{{ vars.dir }}}}/undo-pgid; sleep 30; echo undo-migrate >> {{{{ vars.dir }}}}/ledger
      - id: verify
        run: exit 1
"""


def test_a_rollback_cut_short_by_a_crash_goes_on_at_resume(tmp_path: Path) -> None:
    """Killed while undoing `migrate`: resume reports that undo in doubt (it may have half
    run) and still undoes `drain`, so the commander is not left with a half-rolled-back system."""
    rb = write_runbook(tmp_path, ROLLBACK_RUNBOOK.format(dir=tmp_path))
    journal = tmp_path / "j.db"
    live = subprocess.Popen(
        [sys.executable, "-m", "warroom", "run", str(rb), "--headless", "--journal", str(journal)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    pgid = tmp_path / "undo-pgid"
    wait_until(lambda: pgid.exists() and pgid.read_text().strip() != "", "the undo of migrate to start")
    live.send_signal(signal.SIGKILL)
    live.communicate(timeout=10)
    os.killpg(int(pgid.read_text()), signal.SIGKILL)
    assert (tmp_path / "ledger").read_text().split() == ["drain", "migrate"]

    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 1, res.stderr
    assert (tmp_path / "ledger").read_text().split() == ["drain", "migrate", "undo-drain"]
    state = journal_state(journal)
    assert state.steps["migrate"].status is StepStatus.UNDO_FAILED
    assert state.steps["drain"].status is StepStatus.UNDONE
    assert state.result is RunResult.FAILED
    assert cli("verify", "--journal", str(journal)).returncode == 0


async def test_a_drill_resumed_after_an_interruption_still_fires_its_injects(tmp_path: Path) -> None:
    """The facilitator's --inject schedule is journaled with the run, so the vendor's call
    at 1h still comes after a SIGTERM at the start and a resume (the file is not needed)."""
    rb = runbook_at(tmp_path, """\
        runbook: soak
        steps:
          - id: soak
            wait: 2h
    """)
    schedule = tmp_path / "injects.yaml"
    schedule.write_text("- {at: 1h, note: the vendor calls back}\n- {at: 90m, slow: {step: soak, by: 1m}}\n")
    injects = tuple(load_injects(schedule, rb))
    schedule.unlink()

    async def interrupt_once_soak_starts(engine: Engine) -> None:
        engine.listeners.append(lambda ev: engine.request_interrupt("SIGTERM") if ev.type == "step.started" else None)

    paced = VirtualClock(speed=60, start_wall=1_700_000_000.0)  # commits before it waits, so the listener hears
    first = await drive(tmp_path / "j.db", rb, drill=True, injects=injects, clock=paced, during=interrupt_once_soak_starts)
    assert first.state.result is RunResult.INTERRUPTED and first.state.injects == []

    res = cli("resume", "--headless", "--journal", str(tmp_path / "j.db"))
    assert res.returncode == 0, res.stderr
    state = journal_state(tmp_path / "j.db")
    assert [(i["kind"], i["at_s"]) for i in state.injects] == [("note", 3600.0), ("slow", 5400.0)]
    assert [n.text for n in state.notes] == ["the vendor calls back"]
    assert state.result is RunResult.SUCCEEDED


def test_an_approval_timeout_keeps_running_while_the_runner_is_down(tmp_path: Path) -> None:
    """A real run stops for a person; nobody answers within the approval's timeout, so the
    resume a while later rejects it at once rather than granting it a fresh timeout."""
    rb = write_runbook(tmp_path, """\
        runbook: gated
        roles: {carol: commander}
        steps:
          - {id: gate, approval: Go?, timeout: 1s, on_timeout: reject}
          - {id: after, run: 'true', needs: [gate]}
    """)
    journal = tmp_path / "j.db"
    assert cli("run", str(rb), "--headless", "--journal", str(journal)).returncode == 3
    asked = journal_state(journal).approvals["gate"].requested_at
    assert asked is not None
    wait_until(lambda: time.time() > asked + 1.2, "the approval's timeout to pass", timeout=5)
    res = cli("resume", "--headless", "--journal", str(journal))
    assert res.returncode == 1, res.stderr
    state = journal_state(journal)
    assert state.approvals["gate"].decision == "rejected"
    rejected = next(e for e in journal_events(journal) if e.type == "approval.rejected")
    assert rejected.ts - asked >= 1.0 and rejected.mono >= 1.0
