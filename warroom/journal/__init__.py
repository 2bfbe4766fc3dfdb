"""The record: SQLite event store (single writer), the reducer (events -> state), export,
verify and report. Never imports textual: the engine and the command line use it headless.
"""

from warroom.journal.errors import JournalError, JournalLocked
from warroom.journal.events import Event, EventType, NewEvent
from warroom.journal.reducer import Reducer, reduce
from warroom.journal.state import IncidentState, RunResult, StepState, StepStatus
from warroom.journal.reader import JournalReader
from warroom.journal.store import JournalWriter

__all__ = [
    "Event", "EventType", "IncidentState", "JournalError", "JournalLocked", "JournalReader",
    "JournalWriter", "NewEvent", "Reducer", "RunResult", "StepState", "StepStatus", "reduce",
]
