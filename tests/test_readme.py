"""The README is the first thing a new person runs: its commands and tables must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from warroom.journal.events import catalogue_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_event_catalogue_in_readme_is_current() -> None:
    block = README.split("<!-- events:begin", 1)[1].split("-->", 1)[1].split("<!-- events:end -->", 1)[0]
    assert block.strip() == catalogue_markdown().strip(), "regenerate the README's events table"


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.+?)\n```", README)
    assert commands[:2] == [
        "pip install -e . && warroom run runbooks/web-outage.yaml --drill --speed 20",
        "pip install -e '.[test]' && lint-imports && mypy && pytest",
    ]
    assert (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1] == commands[1]


def test_every_bundled_runbook_named_in_the_readme_exists() -> None:
    for name in re.findall(r"`([a-z-]+)` \(", README.split("The six bundled runbooks", 1)[1].split("`warroom schema`", 1)[0]):
        assert (ROOT / "runbooks" / f"{name}.yaml").exists(), name
