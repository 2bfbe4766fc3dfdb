"""Events as the lines a person reads: time, thread, step, what happened.

The headless runner prints these as the incident unfolds and `replay --headless` prints the
same lines afterwards, so a shell transcript and a replay read alike. Every line passes
through `visible`: step output and notes never drive the terminal they are printed on.
"""

from __future__ import annotations

from typing import Any

from warroom.journal.events import Event
from warroom.journal.text import visible
from warroom.runbook.durations import format_duration
from warroom.runbook.model import Runbook


def _clock(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def what(event: Event) -> str:
    """What happened, in a few words."""
    d = event.data or {}
    t = event.type
    by = f" by {event.actor}" if event.actor not in ("warroom",) else ""
    reason = f": {d['reason']}" if d.get("reason") else ""
    if t == "run.started":
        runbook = d.get("runbook", {}).get("id", "?")
        mode = " drill" if d.get("drill") else ""
        return f"run of {runbook} started{mode} by {d.get('starter') or event.actor}"
    if t == "run.finished":
        return f"run finished: {_text(d, 'result')}"
    if t == "run.interrupted":
        return f"run interrupted ({_text(d, 'signal')}); resumable"
    if t == "run.resumed":
        changed = " (runbook file changed since the start; the journaled copy is used)" if d.get("runbook_changed") else ""
        return f"run resumed{by}{changed}"
    if t == "run.deadline_passed":
        return f"deadline of {format_duration(d.get('deadline_s'))} passed"
    if t == "run.aborted":
        return f"run aborted{by}{reason}"
    if t == "phase.started":
        return f"phase {_text(d, 'phase')} started"
    if t == "phase.finished":
        return f"phase {_text(d, 'phase')} {_text(d, 'result')}"
    if t == "step.waiting":
        holders = d.get("holders") or []
        who = f" (held by {', '.join(holders)})" if holders and d.get("on") in ("lock", "claim") else f" ({', '.join(holders)})" if holders else ""
        return f"waits on {_text(d, 'on')}: {_text(d, 'detail')}{who}"
    if t == "step.started":
        command = d.get("command")
        shown = command if isinstance(command, str) else " ".join(command) if command else ""
        return f"started (attempt {d.get('attempt', 1)})" + (f": {shown}" if shown else "")
    if t == "step.output":
        return output_text(_text(d, "stream"), _text(d, "text"))
    if t == "step.succeeded":
        outputs = d.get("outputs") or {}
        shown = ", ".join(f"{k}={v}" for k, v in sorted(outputs.items()) if v is not None)
        took = f" in {format_duration(d['duration_s'])}" if d.get("duration_s") is not None else ""
        return f"succeeded{took}" + (f" ({shown})" if shown else "")
    if t == "step.failed":
        return f"FAILED (attempt {d.get('attempt', '?')}){reason}"
    if t == "step.timed_out":
        return f"TIMED OUT after {format_duration(d.get('timeout_s'))} (attempt {d.get('attempt', '?')})"
    if t == "step.retry_scheduled":
        return f"retry: attempt {d.get('attempt')} in {format_duration(d.get('delay_s'))}"
    if t == "step.skipped":
        return f"skipped{reason}"
    if t == "step.blocked":
        return f"blocked: {_text(d, 'by')} failed"
    if t == "step.cancelled":
        return f"cancelled{reason}"
    if t == "step.in_doubt":
        return "IN DOUBT: started before the interruption, no result recorded"
    if t == "rollback.started":
        undos = ", ".join(d.get("undo") or []) or "nothing to undo"
        return f"ROLLBACK{reason}; undo: {undos}"
    if t == "undo.started":
        return "undo started"
    if t == "undo.succeeded":
        return "undone"
    if t == "undo.failed":
        return f"UNDO FAILED{reason}"
    if t == "decision.taken":
        branch = f"when {d['when']}" if d.get("when") else "else"
        return f"decided {branch} -> {', '.join(d.get('then') or []) or 'nothing'}"
    if t == "approval.requested":
        who = ", ".join(d.get("approvers") or []) or "anyone"
        eyes = ", four eyes" if d.get("four_eyes") else ""
        return f"asks approval ({who}{eyes}): {_text(d, 'question')}"
    if t == "approval.granted":
        return f"approved{by}{reason}"
    if t == "approval.rejected":
        return f"REJECTED{by}{reason}"
    if t == "lock.acquired":
        return f"took {', '.join(d.get('locks') or [])}"
    if t == "lock.released":
        return f"released {', '.join(d.get('locks') or [])}"
    if t == "claim.made":
        return f"{d.get('by') or event.actor} claimed {_text(d, 'resource')}{reason}"
    if t == "claim.released":
        return f"{_text(d, 'resource')} released{by}{reason}"
    if t == "note.added":
        return f"note{by}: {_text(d, 'text')}"
    if t == "escalation.raised":
        return f"ESCALATED to {_text(d, 'to')}{reason}"
    if t == "operator.override":
        return f"{_text(d, 'action')}{by}{reason}"
    if t == "drill.inject":
        return "inject: " + ", ".join(f"{k}={v}" for k, v in d.items() if k != "at_s")
    return t


def output_text(stream: str, text: str) -> str:
    return f"{'!' if stream == 'stderr' else '|'} {text}"


def line(mono: float, started_mono: float | None, runbook: Runbook | None, step: str | None, text: str) -> str:
    """One timeline line: elapsed time, thread, step, text; control characters visible."""
    elapsed = _clock(mono - (started_mono or 0.0))
    thread = ""
    if runbook is not None and step:
        try:
            thread = runbook.step(step).thread or ""
        except KeyError:
            thread = ""
    return visible(f"{elapsed}  {thread[:10]:<10}  {(step or '-')[:24]:<24}  {text}")


def event_line(event: Event, runbook: Runbook | None, started_mono: float | None) -> str:
    return line(event.mono, started_mono, runbook, event.step, what(event))
