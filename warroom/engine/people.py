"""Steps that wait for a person: the question asked, its timeout, --auto's answer.

A person's answer arrives as an operator command (see decide.command); what is here is what
the engine does on its own around it, each act journaled like a person's.
"""

from __future__ import annotations

from warroom.engine.context import render_text, resolver
from warroom.engine.effects import Page
from warroom.engine.drill import outcome
from warroom.engine.ledger import Ledger
from warroom.engine.timers import Timer, TimerKind
from warroom.engine.waits import release_locks, set_waiting
from warroom.journal.events import AUTO, EventType
from warroom.journal.state import StepStatus, WaitReason
from warroom.runbook.gates import COMMANDER, possible_approvers
from warroom.runbook.model import Step, StepKind
from warroom.runbook.templates import CommandRenderError, render_command


def approvers_of(ld: Ledger, step: Step) -> list[str]:
    return list(possible_approvers(ld.runbook, step))


def ask(ld: Ledger, step: Step) -> None:
    """Puts a person's step to them: an approval's question, an escalation, instructions."""
    sid = step.id
    if step.kind is StepKind.APPROVAL:
        ld.emit(ld.event(
            EventType.APPROVAL_REQUESTED, sid, question=render_text(ld.state, ld.runbook, step.question or ""),
            approvers=approvers_of(ld, step), four_eyes=step.four_eyes,
        ))
    elif step.kind is StepKind.ESCALATE:
        ld.emit(ld.event(EventType.ESCALATION_RAISED, sid, to=step.escalate_to or "", reason=step.title or sid))
        if step.notify is not None and not ld.options.drill:
            try:
                ld.effects.append(Page(sid, render_command(step.notify, resolver(ld.state, ld.runbook))))
            except CommandRenderError as exc:
                ld.write_output(sid, "stderr", f"notify: cannot run the command: {exc}")
        set_waiting(ld, ld.state.steps[sid], WaitReason.PERSON, f"escalated to {step.escalate_to}")
    else:
        detail = render_text(ld.state, ld.runbook, step.instructions or "")
        owner = ld.runbook.thread(step.thread)
        set_waiting(ld, ld.state.steps[sid], WaitReason.PERSON, detail, (owner.owner,) if owner and owner.owner else ())
    arm(ld, step)


def arm(ld: Ledger, step: Step, *, waited: float = 0.0) -> None:
    """Timers of a step waiting on a person: its approval timeout (less what it has already
    waited, when resumed), or --auto's answer."""
    token = ld.next_token(step.id)
    if ld.options.auto:
        delay = outcome(step, 1, ld.options.seed).duration_s if ld.options.drill else 0.0
        ld.arm(delay, Timer(TimerKind.AUTO, step.id, token))
    if step.kind is StepKind.APPROVAL and step.timeout_s is not None:
        ld.arm(max(0.0, step.timeout_s - waited), Timer(TimerKind.APPROVAL, step.id, token))


def timed_out(ld: Ledger, step: Step) -> None:
    if ld.state.steps[step.id].status is not StepStatus.WAITING:
        return
    if step.on_timeout is not None and step.on_timeout.value == "reject":
        ld.emit(ld.event(EventType.APPROVAL_REJECTED, step.id, reason="no answer before the timeout"))
        release_locks(ld, step)
    else:
        asked = ld.state.approvals[step.id].requested_at if step.id in ld.state.approvals else None
        escalate_once(ld, step.id, escalation_target(ld, [step]), f"approval {step.id} unanswered after its timeout",
                      since=asked)


def escalate_once(ld: Ledger, step_id: str, to: str, reason: str, since: float | None = None) -> None:
    """Escalates unless the journal already holds this escalation (since `since`, wall time):
    a resume arms the timers and settles the doubts again, but a person is paged once."""
    if not any(e.step == step_id and e.reason == reason and (since is None or e.ts >= since)
               for e in ld.state.escalations):
        ld.emit(ld.event(EventType.ESCALATION_RAISED, step_id, to=to, reason=reason))


def waiting_gates(ld: Ledger) -> list[Step]:
    """Approvals waiting for an answer now."""
    steps = ld.state.steps
    return [ld.steps[sid] for sid in sorted(ld.people_waits, key=ld.order.__getitem__)
            if ld.steps[sid].kind is StepKind.APPROVAL and steps[sid].status is StepStatus.WAITING]


def escalation_target(ld: Ledger, gates: list[Step]) -> str:
    """Who an unanswered gate or a passed deadline goes to: someone who can act on it. The
    runbook's commanders, less the starter when a four-eyes gate among `gates` shuts them
    out; else the owners of the gates' threads; else those who may answer the gates; the
    starter only when no one else is named."""
    starter = ld.state.starter
    shut_out = {starter} if any(g.four_eyes for g in gates) else set()
    commanders = [p for p, r in ld.runbook.roles.items() if r == COMMANDER and p not in shut_out]
    owners = [t.owner for g in gates if (t := ld.runbook.thread(g.thread)) is not None and t.owner]
    answerers = [p for g in gates for p in possible_approvers(ld.runbook, g)]
    for people in (commanders, owners, answerers):
        chosen = [p for p in dict.fromkeys(people) if p not in shut_out]
        if chosen:
            return ", ".join(chosen)
    return starter


def auto_answer(ld: Ledger, step: Step) -> None:
    if ld.state.steps[step.id].status is not StepStatus.WAITING:
        return
    if step.kind is StepKind.APPROVAL:
        if step.four_eyes:
            return  # --auto answers for the starter, and four eyes needs someone else
        ld.emit(ld.event(EventType.APPROVAL_GRANTED, step.id, actor=AUTO, reason="--auto"))
    else:
        ld.emit(ld.event(EventType.OPERATOR_OVERRIDE, step.id, actor=AUTO, action="done", reason="--auto"))
    release_locks(ld, step)
