"""The per-incident hash chain that makes a changed, deleted, inserted or reordered row show.

hash = sha256(prev_hash + canonical_json(event without its chain fields)); prev_hash is the
hash of the previous row of the same incident, and 64 zeros for an incident's first row.
With WARROOM_JOURNAL_KEY set when an incident starts, every hash of that incident is an
HMAC-SHA256 under the key instead, so someone who can edit the file but lacks the key cannot
recompute the chain after an edit. The incident's run.started records the mode and a key id
(an HMAC of a fixed text, never the key). The writer and `verify` share `row_hash`, so there
is one definition of what is hashed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from json.encoder import encode_basestring
from typing import Any

from warroom.runbook.model import canonical_json, text_digest

GENESIS = "0" * 64
KEY_ENV = "WARROOM_JOURNAL_KEY"


class ChainMode(str, Enum):
    """How an incident's row hashes are made; recorded in its run.started as `chain`."""

    SHA256 = "sha256"
    HMAC = "hmac-sha256"


_string = encode_basestring  # the spelling canonical_json (ensure_ascii=False) gives a str
_SPECIAL = {float("inf"): "Infinity", float("-inf"): "-Infinity"}


def _number(value: float) -> str:
    """json's spelling of a number (what canonical_json writes), without the encoder's
    machinery: it was most of the cost of verifying or exporting a row. A finite float or
    an int is its repr; json spells the rest its own way."""
    if type(value) is not bool and value - value == 0:
        return repr(value)
    if value != value:
        return "NaN"
    return _SPECIAL.get(value) or json.dumps(value)


def _canonical_encoder() -> Callable[[Any], str]:
    """canonical_json with its encoder built once: the write path serializes every event,
    and json.JSONEncoder.encode makes a new C encoder on each call, which costs more than
    encoding a small event. The same C encoder is what JSONEncoder.encode would use, so the
    text is the same; without the C accelerator it is JSONEncoder.encode itself."""
    encoder = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                               check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    chunks = make(None, encoder.default, encode_basestring, None, ":", ",", True, False, True)

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


encode_data = _canonical_encoder()


def encode_with(data: dict[str, Any], encoded: dict[str, str]) -> str:
    """encode_data of `data` joined with members whose values are canonical JSON text
    already (the embedded runbook, encoded once for its digest and its row)."""
    members = {key: encode_data(value) for key, value in data.items()} | encoded
    return "{" + ",".join(f"{_string(key)}:{members[key]}" for key in sorted(members)) + "}"


def journal_key() -> bytes | None:
    """The key from the environment (its bytes as given), or None when unset or empty."""
    return os.environb.get(KEY_ENV.encode()) or None


def key_id(key: bytes) -> str:
    """Names a key without revealing it, so verify can say "not the key it was written with"."""
    return hmac.new(key, b"warroom journal key id", hashlib.sha256).hexdigest()[:16]


def chain_fields(key: bytes | None) -> dict[str, str]:
    """What a new incident's run.started records about its chain (nothing for plain sha256,
    so journals written without a key keep their old form)."""
    return {} if key is None else {"chain": ChainMode.HMAC.value, "key_id": key_id(key)}


def chain_key(incident: str, first_data: Any, key: bytes | None) -> tuple[ChainMode, bytes | None]:
    """The mode of an incident (from its run.started data) and the key its rows need; a
    ValueError says why its rows cannot be checked or extended with `key`."""
    default = ChainMode.SHA256.value
    mode_name = first_data.get("chain", default) if isinstance(first_data, dict) else default
    try:
        mode = ChainMode(mode_name)
    except ValueError:
        raise ValueError(f"run.started names an unknown chain mode {mode_name!r}") from None
    if mode is ChainMode.SHA256:
        return mode, None
    if key is None:
        raise ValueError(f"incident {incident} is keyed ({mode.value}): set {KEY_ENV} to the "
                         "key it was written with")
    if first_data.get("key_id") != key_id(key):
        raise ValueError(f"{KEY_ENV} is not the key incident {incident} was written with")
    return mode, key


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


def row_json(row: Row) -> str:
    """canonical_json(Event.to_dict()) of a stored row, built around its stored data text (the
    text its hash covers): an export of a million rows parses and re-encodes none of them."""
    seq, incident, ts, mono, actor, type_, step, data_json, prev_hash, hash_ = row
    return (
        f'{{"actor":{_string(actor)},"data":{data_json},"hash":{_string(hash_)},"incident":{_string(incident)},'
        f'"mono":{_number(mono)},"prev_hash":{_string(prev_hash)},"seq":{seq},'
        f'"step":{"null" if step is None else _string(step)},"ts":{_number(ts)},"type":{_string(type_)}}}'
    )


def row_hash(prev_hash: str, body: str, key: bytes | None = None) -> str:
    message = (prev_hash + body).encode()
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


Row = tuple[int, str, float, float, str, str, "str | None", str, str, str]
"""seq, incident, ts, mono, actor, type, step, data (text), prev_hash, hash: as stored."""


@dataclass(frozen=True)
class IncidentInfo:
    """An incident as the index table knows it, before folding its events."""

    id: str
    runbook: str
    started_ts: float
    first_seq: int
    last_seq: int
    head_hash: str
    events: int


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking one incident's chain."""

    incident: str
    events: int
    head: str
    bad_seq: int | None = None
    problem: str = ""
    mode: ChainMode = ChainMode.SHA256
    expected_at: int | None = None
    """The seq of the row whose hash is the `expect`ed one, when it was asked for and seen."""

    @property
    def sound(self) -> bool:
        return self.bad_seq is None


def verify_rows(incident: str, rows: Iterable[Row], *, index: IncidentInfo | None = None,
                key: bytes | None = None, expect: str | None = None) -> ChainReport:
    """Recomputes the chain over an incident's rows in seq order; stops at the first bad row.

    `index` is the incident's entry in the index table: every field of it must agree with
    the rows (removing the last rows of an incident is caught that way too: a chain alone
    cannot see its own tail cut off). `key` is the journal key, needed for a keyed incident;
    with a key at hand a plain incident is refused, as a keyed one recomputed without the key
    (a downgrade) would look the same. `expect` is a pinned head to look for in the chain.
    """
    prev = GENESIS
    count = 0
    last_seq = None
    mode, row_key = ChainMode.SHA256, None
    expected_at = None

    def bad(seq: int, problem: str) -> ChainReport:
        return ChainReport(incident, count, prev, seq, problem, mode, expected_at)

    for seq, inc, ts, mono, actor, type_, step, data, prev_hash, stored in rows:
        count += 1
        if index is not None and seq > index.last_seq:
            return bad(seq, "row after the incident's recorded end")
        if not isinstance(ts, float) or not isinstance(mono, float) or not isinstance(data, str):
            return bad(seq, "a field has the wrong type")
        if count == 1:
            try:
                mode, row_key = chain_key(incident, _loads(data), key)
            except ValueError as exc:
                return bad(seq, str(exc))
        if prev_hash != prev:
            return bad(seq, "chain broken: a row before it was changed, removed or inserted")
        computed = row_hash(prev, body_json(seq, inc, ts, mono, actor, type_, step, data), row_key)
        if computed != stored:
            return bad(seq, "row content does not match its hash")
        if count == 1:
            problem = _first_row_problem(seq, ts, type_, data, index)
            if problem:
                return bad(seq, problem)
        prev = stored
        last_seq = seq
        if expect is not None and stored == expect:
            expected_at = seq
    if index is not None:
        if prev != index.head_hash or last_seq != index.last_seq:
            return bad(index.last_seq, "the incident's last rows are missing or its index was altered")
        if count != index.events:
            return bad(index.last_seq, f"the index counts {index.events} events, the journal "
                                       f"holds {count}")
    if mode is ChainMode.SHA256 and key is not None and count:
        return bad(index.first_seq if index else 0,
                   f"written without a key (plain sha256) while {KEY_ENV} is set: a keyed "
                   "incident recomputed without its key would look like this")
    return ChainReport(incident, count, prev, None, "", mode, expected_at)


def _loads(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _first_row_problem(seq: int, ts: float, type_: str, data: str,
                       index: IncidentInfo | None) -> str:
    """The first row must be run.started embedding the runbook whose sha256 it names, and
    agree with the index's entry for the incident."""
    if type_ != "run.started":
        return "an incident must begin with run.started"
    try:
        payload = json.loads(data)
        runbook, digest = payload["runbook"], payload["runbook_sha256"]
        runbook_id = runbook["id"]
    except (ValueError, KeyError, TypeError):
        return "run.started lacks its embedded runbook"
    if index is not None:
        if seq != index.first_seq:
            return f"the index says the incident begins at seq {index.first_seq}"
        if ts != index.started_ts:
            return "the index's start time differs from run.started"
        if runbook_id != index.runbook:
            return f"the index names runbook {index.runbook!r}, run.started embeds {runbook_id!r}"
    if payload.get("runbook_redacted"):
        return ""
    actual = text_digest(canonical_json(runbook))
    return "" if actual == digest else "embedded runbook does not match its sha256"
