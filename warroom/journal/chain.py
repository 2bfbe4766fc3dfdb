"""The per-incident hash chain that makes a changed, deleted, inserted or reordered row show.

hash = sha256(prev_hash + canonical_json(event without its chain fields)); prev_hash is the
hash of the previous row of the same incident, and 64 zeros for an incident's first row.
The writer and `verify` share `row_hash`, so there is one definition of what is hashed.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from collections.abc import Iterable
from dataclasses import dataclass

from warroom.runbook.model import canonical_json

GENESIS = "0" * 64


_string = encode_basestring  # the spelling canonical_json (ensure_ascii=False) gives a str
_number = json.JSONEncoder(allow_nan=True).encode
encode_data = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
"""canonical_json with its encoder built once: the write path serializes every event."""


def body_json(
    seq: int, incident: str, ts: float, mono: float, actor: str, type_: str,
    step: str | None, data_json: str,
) -> str:
    """canonical_json of the event body, built around the already canonical `data` text.

    Equal to canonical_json(Event.body()) (a test holds it to that); building it by hand
    saves serializing the data twice on the write path and parsing it on verify.
    """
    return (
        f'{{"actor":{_string(actor)},"data":{data_json},"incident":{_string(incident)},'
        f'"mono":{_number(mono)},"seq":{seq},"step":{"null" if step is None else _string(step)},'
        f'"ts":{_number(ts)},"type":{_string(type_)}}}'
    )


def row_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


Row = tuple[int, str, float, float, str, str, "str | None", str, str, str]
"""seq, incident, ts, mono, actor, type, step, data (text), prev_hash, hash: as stored."""


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking one incident's chain."""

    incident: str
    events: int
    head: str
    bad_seq: int | None = None
    problem: str = ""

    @property
    def sound(self) -> bool:
        return self.bad_seq is None


def verify_rows(
    incident: str, rows: Iterable[Row], *, expected_head: str | None = None,
    expected_last_seq: int | None = None,
) -> ChainReport:
    """Recomputes the chain over an incident's rows in seq order; stops at the first bad row.

    `expected_head`/`expected_last_seq` come from the incident index, so removing the last
    rows of an incident is caught too (a chain alone cannot see its own tail cut off).
    """
    prev = GENESIS
    count = 0
    last_seq = None
    for seq, inc, ts, mono, actor, type_, step, data, prev_hash, stored in rows:
        count += 1
        if expected_last_seq is not None and seq > expected_last_seq:
            return ChainReport(incident, count, prev, seq, "row after the incident's recorded end")
        if not isinstance(ts, float) or not isinstance(mono, float) or not isinstance(data, str):
            return ChainReport(incident, count, prev, seq, "a field has the wrong type")
        if prev_hash != prev:
            return ChainReport(
                incident, count, prev, seq,
                "chain broken: a row before it was changed, removed or inserted",
            )
        computed = row_hash(prev, body_json(seq, inc, ts, mono, actor, type_, step, data))
        if computed != stored:
            return ChainReport(incident, count, prev, seq, "row content does not match its hash")
        if count == 1:
            problem = _first_row_problem(type_, data)
            if problem:
                return ChainReport(incident, count, prev, seq, problem)
        prev = stored
        last_seq = seq
    if expected_head is not None and (prev != expected_head or last_seq != expected_last_seq):
        bad = expected_last_seq if expected_last_seq is not None else (last_seq or 0)
        return ChainReport(
            incident, count, prev, bad,
            "the incident's last rows are missing or its index was altered",
        )
    return ChainReport(incident, count, prev)


def _first_row_problem(type_: str, data: str) -> str:
    """The first row must be run.started embedding the runbook whose sha256 it names."""
    if type_ != "run.started":
        return "an incident must begin with run.started"
    try:
        payload = json.loads(data)
        runbook, digest = payload["runbook"], payload["runbook_sha256"]
    except (ValueError, KeyError, TypeError):
        return "run.started lacks its embedded runbook"
    if payload.get("runbook_redacted"):
        return ""
    actual = hashlib.sha256(canonical_json(runbook).encode()).hexdigest()
    return "" if actual == digest else "embedded runbook does not match its sha256"
