"""Journaling a step's wait, and taking and releasing its locks: shared by every decision."""

from __future__ import annotations

from warroom.engine.ledger import Ledger
from warroom.journal.events import EventType
from warroom.journal.state import StepState, StepStatus, WaitReason
from warroom.runbook.model import Step


def set_waiting(ld: Ledger, s: StepState, on: WaitReason, detail: str, holders: tuple[str, ...] = ()) -> None:
    current = s.waiting_on
    if s.status is StepStatus.WAITING and current is not None and (current.on, current.detail, current.holders) == (on, detail, holders):
        return
    ld.emit(ld.event(EventType.STEP_WAITING, s.id, on=on.value, detail=detail, holders=list(holders)))


def take_locks(ld: Ledger, step: Step) -> None:
    if step.locks:
        ld.emit(ld.event(EventType.LOCK_ACQUIRED, step.id, locks=[str(lk) for lk in step.locks]))


def release_locks(ld: Ledger, step: Step) -> None:
    if step.locks and any(step.id in ld.state.locks.get(lk.name, []) for lk in step.locks):
        ld.emit(ld.event(EventType.LOCK_RELEASED, step.id, locks=[str(lk) for lk in step.locks]))
        ld.dirty.update(ld.resource_waiters)
