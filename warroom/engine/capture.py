"""Named outputs taken from a step's stdout, so later steps and decisions can read them."""

from __future__ import annotations

import json
import re
from typing import Any

from warroom.runbook.model import OutputSpec


def capture_outputs(specs: tuple[OutputSpec, ...], stdout: str) -> dict[str, Any]:
    """Each declared output's value, or None when stdout did not contain it."""
    parsed: Any = _NOT_PARSED
    result: dict[str, Any] = {}
    for spec in specs:
        if spec.regex is not None:
            match = re.search(spec.regex, stdout, re.MULTILINE)
            if match is None:
                result[spec.name] = None
            else:
                result[spec.name] = match.group(1) if match.groups() else match.group(0)
        elif spec.json is not None:
            if parsed is _NOT_PARSED:
                parsed = _parse_json(stdout)
            result[spec.name] = _dig(parsed, spec.json)
    return result


_NOT_PARSED = object()


def _parse_json(stdout: str) -> Any:
    try:
        return json.loads(stdout)
    except ValueError:
        last = stdout.strip().splitlines()[-1:] or [""]
        try:
            return json.loads(last[0])  # a command that logs first and prints JSON last
        except ValueError:
            return None


def _dig(value: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value
