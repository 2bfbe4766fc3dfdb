"""YAML read safely and with positions, so every later problem can say file:line:col.

PyYAML's composer recurses once per nesting level and expands aliases without limit; a hostile
runbook could exhaust the stack or memory. This builds plain Python values from the parser's
event stream with an explicit stack instead: nesting depth and alias expansion are bounded,
duplicate keys are reported, and only the standard safe tags are ever constructed.
"""

from __future__ import annotations

import datetime
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from warroom.runbook.errors import Location, Problem, RunbookError

MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_FILE_BYTES = 8 * 1024 * 1024
_SAFE_TAG_PREFIX = "tag:yaml.org,2002:"
_SCALAR_TAGS = {"str", "int", "float", "bool", "null", "timestamp", "binary"}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOO_DEEP = f"nesting deeper than {MAX_DEPTH} levels: not a runbook this tool will read"


class LocDict(dict[Any, Any]):
    """A mapping that remembers where each key and value was written."""

    loc: Location
    key_locs: dict[Any, Location]
    value_locs: dict[Any, Location]


class LocList(list[Any]):
    """A sequence that remembers where each item was written."""

    loc: Location
    item_locs: list[Location]


@dataclass
class _Frame:
    container: LocDict | LocList
    size: int = 1
    anchor: str | None = None
    pending_key: Any = None
    pending_key_loc: Location | None = None
    has_key: bool = False


class YamlTooComplex(Exception):
    """Raised to stop reading a document that nests too deep or expands too far."""


def read_text(path: str | Path, what: str) -> str:
    """The UTF-8 text of a regular file of at most MAX_FILE_BYTES; RunbookError otherwise.

    Opened without blocking and checked before reading, so a FIFO, a device (`/dev/zero`)
    or a directory is refused at once instead of hanging or reading for ever."""
    filename = str(path)

    def refuse(message: str, line: int = 0) -> RunbookError:
        return RunbookError([Problem(Location(filename, line, 1 if line else 0), message)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise refuse("no such file") from None
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise refuse(f"is a directory, not {what}")
        raise refuse(f"not a regular file (a pipe or a device), not {what}")
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise refuse(f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB: not {what}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refuse(f"not UTF-8 text (byte {exc.start})", 1) from None


def load_yaml(text: str, filename: str) -> tuple[Any, list[Problem]]:
    """The document's value (None for an empty one) and the problems found while reading it."""
    problems: list[Problem] = []

    def loc(mark: Any) -> Location:
        return Location(filename, mark.line + 1, mark.column + 1)

    resolver_loader = yaml.SafeLoader("")
    anchors: dict[str, tuple[Any, int]] = {}
    stack: list[_Frame] = []
    root: Any = None
    total = 0

    def attach(value: Any, size: int, where: Location) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        frame.size += size
        container = frame.container
        if isinstance(container, LocList):
            container.append(value)
            container.item_locs.append(where)
            return
        if not frame.has_key:
            if isinstance(value, (dict, list)):
                problems.append(Problem(where, "a mapping key must be a plain value"))
                value = repr(value)
            frame.pending_key, frame.pending_key_loc, frame.has_key = value, where, True
            return
        key, key_loc = frame.pending_key, frame.pending_key_loc
        assert key_loc is not None  # set with the key
        frame.has_key = False
        if key in container:
            first = container.key_locs[key]
            problems.append(Problem(key_loc, f"duplicate key {key!r} (first at line {first.line})"))
            return
        container[key] = value
        container.key_locs[key] = key_loc
        container.value_locs[key] = where

    def scalar(event: yaml.ScalarEvent, where: Location) -> Any:
        tag = event.tag
        if tag in (None, "!"):
            tag = resolver_loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        elif tag.startswith("!!"):
            tag = _SAFE_TAG_PREFIX + tag[2:]
        if not tag.startswith(_SAFE_TAG_PREFIX) or tag[len(_SAFE_TAG_PREFIX):] not in _SCALAR_TAGS:
            problems.append(Problem(where, f"tag {event.tag} is not allowed in a runbook"))
            return event.value
        node = yaml.ScalarNode(tag, event.value, style=event.style)
        try:
            value = resolver_loader.construct_object(node)
        except yaml.YAMLError as exc:
            problems.append(Problem(where, f"bad value {event.value!r}: {getattr(exc, 'problem', exc)}"))
            return event.value
        if isinstance(value, (datetime.date, datetime.datetime)):
            return event.value
        if isinstance(value, bytes):
            return event.value
        return value

    try:
        for event in yaml.parse(text, Loader=_Loader):
            where = loc(event.start_mark)
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if event.tag not in (None, "!", _SAFE_TAG_PREFIX + "map", _SAFE_TAG_PREFIX + "seq"):
                    problems.append(Problem(where, f"tag {event.tag} is not allowed in a runbook"))
                if len(stack) >= MAX_DEPTH:
                    raise YamlTooComplex(_TOO_DEEP)
                container: LocDict | LocList
                if isinstance(event, yaml.MappingStartEvent):
                    container = LocDict()
                    container.key_locs, container.value_locs = {}, {}
                else:
                    container = LocList()
                    container.item_locs = []
                container.loc = where
                stack.append(_Frame(container, anchor=event.anchor))
                total += 1
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                frame = stack.pop()
                if frame.anchor:
                    anchors[frame.anchor] = (frame.container, frame.size)
                attach(frame.container, frame.size, frame.container.loc)
            elif isinstance(event, yaml.ScalarEvent):
                value = scalar(event, where)
                if event.anchor:
                    anchors[event.anchor] = (value, 1)
                total += 1
                attach(value, 1, where)
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor not in anchors:
                    problems.append(Problem(where, f"unknown alias *{event.anchor}"))
                    attach(None, 1, where)
                    continue
                value, size = anchors[event.anchor]
                total += size
                attach(value, size, where)
            elif isinstance(event, yaml.DocumentStartEvent) and root is not None:
                problems.append(Problem(where, "a runbook file holds one YAML document, found a second"))
                break
            if total > MAX_NODES:
                raise YamlTooComplex(
                    f"more than {MAX_NODES} values after alias expansion: not a runbook this tool will read"
                )
    except YamlTooComplex as exc:
        return None, problems + [Problem(where, str(exc))]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = loc(mark) if mark else Location(filename, 1, 1)
        message = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in message:  # libyaml 0.2.5+ scans ahead and stops at 1000 levels
            return None, problems + [Problem(where, _TOO_DEEP)]
        return None, problems + [Problem(where, f"YAML syntax error: {message}")]
    except yaml.YAMLError as exc:
        return None, problems + [Problem(Location(filename, 1, 1), f"YAML error: {exc}")]
    return root, problems
