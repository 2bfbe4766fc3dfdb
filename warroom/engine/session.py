"""One way to open a run, headless or in the console: the writer, the clock, the engine.

`LiveSession.open` takes the journal's lock before it reads anything: a resume folds the
journal once, under the lock, so no second runner can change it between the read and the
first new event. The console and the headless printer then see the same two streams
(committed events, output lines) and send commands the same way.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from warroom.engine.clock import Clock, RealClock, VirtualClock
from warroom.engine.commands import Action, OperatorCommand, Refused
from warroom.engine.drill import Inject
from warroom.engine.ledger import RunOptions
from warroom.engine.loop import Engine, EventListener, OutputListener
from warroom.engine.orphans import still_running
from warroom.engine.outcome import Outcome
from warroom.journal.errors import JournalError
from warroom.journal.reducer import Reducer
from warroom.journal.state import IncidentState, StepStatus
from warroom.journal.store import JournalReader, JournalWriter
from warroom.runbook.errors import RunbookError
from warroom.runbook.loader import load_runbook
from warroom.runbook.model import Runbook

EngineFactory = Callable[[JournalWriter, Runbook, RunOptions, Clock], Engine]


class NothingToResume(JournalError):
    """The incident has ended for good; resuming it would do nothing."""


def secret_values(runbook: Runbook) -> list[str]:
    return [os.environ[name] for name in runbook.secrets if os.environ.get(name)]


def unset_secrets(runbook: Runbook) -> list[str]:
    """Declared secrets whose environment variable is unset or empty: a step would run with
    an empty password or key and fail part way, after earlier steps changed things."""
    return [name for name in runbook.secrets if not os.environ.get(name)]


def secrets_in_names(runbook: Runbook) -> list[str]:
    """Declared secrets whose value is part of a name the record keeps (the runbook's, a
    step's, a phase's, a thread's or a resource's): redacting it would take that name out of
    the journal's copy of the runbook, and nothing could be found by it again."""
    names = {runbook.id, *runbook.step_ids, *(p.id for p in runbook.phases), *runbook.resources,
             *(s.thread for s in runbook.steps if s.thread)}
    return [f"{secret} (its value is in {name!r})" for secret in runbook.secrets
            if (value := os.environ.get(secret)) for name in sorted(names) if value in name]


def refuse_second_copy(incident: str, command: OperatorCommand) -> None:
    """A retry while a process of that step still runs (one a killed runner left behind)
    would be a second copy beside it: refused, naming the pids. Checked where processes can be
    seen, before the command reaches the decide path, from the console and a shell alike."""
    if command.action is Action.RETRY and (pids := still_running(incident).get(command.target)):
        raise Refused(f"{command.target} still runs from before (pid {' '.join(map(str, pids))}): "
                      "let it end or stop it, then retry; never two copies of a step")


def make_clock(drill: bool, speed: float | None, mono: float = 0.0, wall: float | None = None) -> Clock:
    if drill:
        clock = VirtualClock(speed=speed, start_wall=wall if wall is not None else time.time())
        clock.advance_to(mono)
        return clock
    return RealClock(offset=mono)


def resumed_clock(state: IncidentState) -> Clock:
    """The clock a resumed run goes on with. A drill's virtual time carries on where it
    stopped; a real run's also counts the time the runner was down (as an operator command
    from a shell does), so approval timeouts and the deadline keep to the wall clock."""
    last = state.last_mono or 0.0
    if not state.drill:
        now = time.time()
        last += max(0.0, now - (state.last_ts or now))
    return make_clock(state.drill, state.speed, last, (state.started_ts or time.time()) - (state.started_mono or 0.0))


def resume_options(state: IncidentState, actor: str, *, auto: bool, headless: bool) -> RunOptions:
    """A resumed run goes on as it began (drill, seed, speed, injects), by whoever resumes it."""
    return RunOptions(
        actor=actor, drill=state.drill, seed=int(state.seed or 0), speed=state.speed,
        auto=auto or state.auto, stop_when_waiting=headless, linger=not headless, source=state.source,
        injects=tuple(Inject.from_planned(d) for d in state.planned_injects),
    )


def opening_state(journal: str, incident: str | None) -> tuple[IncidentState, list[str]]:
    """The incident as its first event describes it (runbook, drill, speed): enough to build
    a console before the session takes the lock and folds the whole journal; and the
    warnings of the anchors kept beside the journal (it holds less than they recorded)."""
    with JournalReader(journal) as reader:
        warnings = reader.anchor_warnings()
        info = reader.resolve(incident)
        reducer = Reducer()
        first = next(reader.events(info.id), None)
    if first is None or first.type != "run.started":
        raise JournalError(f"{info.id} has no run.started event")
    return reducer.apply(first), warnings


def runbook_change_note(state: IncidentState) -> dict[str, Any]:
    """Whether the runbook file changed since the run began, and how (the journaled copy wins)."""
    runbook = state.runbook
    assert runbook is not None
    if not state.source or not os.path.exists(state.source):
        return {"runbook_changed": False, "diff": "runbook file not found; the journaled copy is used" if state.source else ""}
    try:
        current = load_runbook(state.source, {k: str(v) for k, v in state.vars.items() if k in runbook.vars})
    except RunbookError as exc:
        return {"runbook_changed": True, "diff": f"the file no longer loads ({len(exc.problems)} problems); the journaled copy is used"}
    if current.sha256() == state.runbook_sha256:
        return {"runbook_changed": False, "diff": ""}
    old = {s.id: s for s in runbook.steps}
    new = {s.id: s for s in current.steps}
    parts = []
    if added := sorted(set(new) - set(old)):
        parts.append("added " + ", ".join(added))
    if removed := sorted(set(old) - set(new)):
        parts.append("removed " + ", ".join(removed))
    normalized = {s["id"]: s for s in runbook.to_dict()["steps"]}
    if changed := sorted(sid for sid, s in ((s["id"], s) for s in current.to_dict()["steps"]) if sid in normalized and normalized[sid] != s):
        parts.append("changed " + ", ".join(changed))
    return {"runbook_changed": True, "diff": "; ".join(parts) or "settings changed"}


@dataclass
class LiveSession:
    """A run (`resume` None) or the resume of a journaled incident, opened in the caller's loop."""

    journal: str
    runbook: Runbook
    options: RunOptions
    secrets: list[str] = field(default_factory=list)
    resume: str | None = None  # the incident to carry on
    clock: Clock | None = None
    engine_factory: EngineFactory = Engine
    engine: Engine | None = None
    writer: JournalWriter | None = None
    note: dict[str, Any] = field(default_factory=dict)  # how the runbook file changed, on resume
    head: str = ""  # the incident's head hash once closed, to be pinned outside the machine
    pending_interrupt: str | None = None  # a signal that came while the session was opening
    live = True

    @property
    def state(self) -> IncidentState:
        return self.engine.state if self.engine is not None else IncidentState(runbook=self.runbook)

    @property
    def actor(self) -> str:
        return self.options.actor

    def now(self) -> float:
        return self.engine.clock.now() if self.engine is not None else 0.0

    def output_time(self) -> float:
        """When the output line being shown was printed (it may be shown a moment later)."""
        return self.engine.output_mono if self.engine is not None else 0.0

    async def open(self, on_event: EventListener, on_output: OutputListener) -> str:
        self.writer = await JournalWriter.open(self.journal, secrets=self.secrets)
        if self.resume is None:
            engine = self._engine(self.clock or make_clock(self.options.drill, self.options.speed))
            engine.listeners.append(on_event)
            engine.output_listeners.append(on_output)
            return await engine.start(self.secrets)
        with JournalReader(self.journal) as reader:
            reducer = reader.fold(self.resume)
        state = reducer.state
        if state.result.ended:
            raise NothingToResume(f"{self.resume} already ended ({state.result.value}); nothing to resume")
        self.note = runbook_change_note(state)
        journaled = {sid: (s.pid, s.pid_start) for sid, s in state.steps.items()
                     if s.status in (StepStatus.RUNNING, StepStatus.IN_DOUBT) and s.pid is not None}
        if alive := still_running(self.resume, journaled):  # a killed runner's steps, never started twice
            self.note["still_running"] = alive
        self.options = replace(self.options, drill=state.drill, seed=int(state.seed or 0), speed=state.speed,
                               source=state.source, injects=tuple(Inject.from_planned(d) for d in state.planned_injects))
        engine = self._engine(self.clock or resumed_clock(state))
        engine.listeners.append(on_event)
        engine.output_listeners.append(on_output)
        await engine.resume(self.resume, reducer, self.note)
        return self.resume

    def _engine(self, clock: Clock) -> Engine:
        assert self.writer is not None
        self.engine = self.engine_factory(self.writer, self.runbook, self.options, clock)
        if self.pending_interrupt is not None:
            self.engine.request_interrupt(self.pending_interrupt)
        return self.engine

    async def run(self) -> Outcome:
        assert self.engine is not None
        return await self.engine.run()

    async def submit(self, command: OperatorCommand) -> None:
        if self.engine is None:
            raise Refused("the incident is still opening")
        if self.state.incident:
            refuse_second_copy(self.state.incident, command)
        await self.engine.submit(command)

    async def inject(self, inject: Inject, actor: str) -> None:
        """A facilitator's inject; the engine refuses it on a real run."""
        if self.engine is None:
            raise Refused("the incident is still opening")
        await self.engine.inject(inject, actor)

    def interrupt(self, why: str) -> None:
        """Asks the run to stop; a signal that arrives before the engine exists is kept, so
        it is never lost while the journal is still opening."""
        if self.engine is not None:
            self.engine.request_interrupt(why)
        else:
            self.pending_interrupt = why

    async def close(self) -> None:
        if self.engine is not None:
            self.engine.kill_children()  # the session went first: no step process outlives it
        if self.writer is not None:
            writer, self.writer = self.writer, None
            if writer.incident is not None:
                self.head = writer.head()
            await writer.close()
