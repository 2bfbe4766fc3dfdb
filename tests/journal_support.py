"""Shared builders for the journal tests: a small runbook and a scripted incident written with
the real writer to a real SQLite file (there is no engine in these tests)."""

from __future__ import annotations

from pathlib import Path

from warroom.journal import EventType as E
from warroom.journal import JournalWriter, NewEvent
from warroom.runbook.model import Lock, Retries, Runbook, Step, StepKind

T0 = 1_700_000_000.0
SECRET = "s3cr3t-Hunter2-canary"


def web_runbook() -> Runbook:
    return Runbook(
        id="web-outage",
        title="Web tier outage",
        secrets=("CDN_TOKEN",),
        steps=(
            Step("probe", StepKind.CHECK, command="curl -sf https://web/health"),
            Step("approve", StepKind.APPROVAL, question="Restart the fleet?", four_eyes=True),
            Step("restart", StepKind.RUN, command="systemctl restart web",
                 needs=("probe", "approve"), locks=(Lock("web-fleet"),)),
            Step("purge", StepKind.RUN, command="cdn purge", needs=("probe",),
                 retries=Retries(count=2, delay_s=5.0)),
            Step("verify", StepKind.CHECK, command="curl -sf https://web/", needs=("restart", "purge")),
        ),
    )


def ev(type_: E, at: float, step: str | None = None, actor: str = "warroom", **data) -> NewEvent:
    return NewEvent(type_, actor, T0 + at, at, step, data)


async def write_web_incident(path: Path, *, secret: str = SECRET) -> str:
    """A finished incident touching every section of the exports; `secret` appears in output
    and data so redaction can be checked."""
    async with await JournalWriter.open(path, secrets=[secret], flush_interval=None) as w:
        inc = await w.start_incident(web_runbook(), actor="alice", ts=T0, mono=0.0,
                                     data={"starter": "alice", "drill": False,
                                           "vars": {"token": secret}})
        await w.append([ev(E.STEP_STARTED, 1, "probe", attempt=1, command="curl -sf https://web/health"),
                        ev(E.APPROVAL_REQUESTED, 1, "approve", question="Restart the fleet?",
                           approvers=[], four_eyes=True)])
        w.append_output("probe", "stdout", "HTTP 503", ts=T0 + 2, mono=2.0)
        await w.append([ev(E.STEP_SUCCEEDED, 3, "probe", attempt=1, exit_code=0, duration_s=2.0,
                           outputs={"code": 503}),
                        ev(E.STEP_STARTED, 3, "purge", attempt=1, command="cdn purge")])
        w.append_output_chunk("purge", "stderr", f"token={secret[:7]}", ts=T0 + 4, mono=4.0)
        w.append_output_chunk("purge", "stderr", f"{secret[7:]} rejected\n", ts=T0 + 4, mono=4.0)
        await w.append([ev(E.STEP_FAILED, 5, "purge", attempt=1, exit_code=1, reason="exit 1"),
                        ev(E.STEP_RETRY_SCHEDULED, 5, "purge", attempt=2, delay_s=5.0),
                        ev(E.CLAIM_MADE, 6, actor="bob", resource="cdn", reason="vendor call"),
                        ev(E.NOTE_ADDED, 7, actor="bob", text=f"vendor says | retry; key {secret}"),
                        ev(E.APPROVAL_GRANTED, 8, "approve", actor="carol", reason="probe is red"),
                        ev(E.STEP_WAITING, 8, "restart", on="lock", detail="web-fleet",
                           holders=["deploy"]),
                        ev(E.STEP_STARTED, 10, "purge", attempt=2, command="cdn purge"),
                        ev(E.LOCK_ACQUIRED, 12, "restart", locks=["web-fleet"]),
                        ev(E.STEP_STARTED, 12, "restart", attempt=1, command="systemctl restart web"),
                        ev(E.STEP_SUCCEEDED, 14, "purge", attempt=2, exit_code=0, duration_s=4.0),
                        ev(E.CLAIM_RELEASED, 15, actor="bob", resource="cdn", reason="done"),
                        ev(E.STEP_SUCCEEDED, 20, "restart", attempt=1, exit_code=0, duration_s=8.0),
                        ev(E.LOCK_RELEASED, 20, "restart", locks=["web-fleet"]),
                        ev(E.ESCALATION_RAISED, 21, actor="alice", to="sre-lead", reason="slow"),
                        ev(E.STEP_STARTED, 22, "verify", attempt=1, command="curl -sf https://web/"),
                        ev(E.STEP_SUCCEEDED, 25, "verify", attempt=1, exit_code=0, duration_s=3.0),
                        ev(E.RUN_FINISHED, 26, result="succeeded")])
    return inc
