"""One command path: each operator command given to a live engine, and the same command
from a shell on the stopped incident followed by `resume`, end in the same state.

Both go through `decide.command`; what happens next is derived from the resulting state
alone, so a failed step marked done unblocks its dependents and an undo asked for runs,
whichever door the command came through.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine_support import drive, runbook, status_is, until, write_runbook
from warroom.cli import main
from warroom.engine.commands import Action, OperatorCommand
from warroom.engine.loop import Engine
from warroom.journal.state import IncidentState, StepStatus
from warroom.journal.store import JournalReader

RUNBOOK = """
    runbook: doors
    on_failure: continue
    steps:
      - {id: hold, manual: 'keep the bridge open'}
      - {id: gate, approval: 'go on?'}
      - {id: hands, manual: 'do it by hand'}
      - {id: flaky, run: 'exit 1'}
      - {id: after-flaky, run: 'true', needs: [flaky], locks: [db]}
      - {id: a, run: 'echo a', undo: 'true'}
"""
FINISH = (("done", "hold"), ("approve", "gate"), ("done", "hands"))
COMMANDS = [
    [("approve", "gate")], [("reject", "gate")], [("done", "hands")], [("fail", "hands")],
    [("retry", "flaky")], [("skip", "flaky")], [("done", "flaky")], [("undo", "a")],
    [("claim", "db")], [("claim", "db"), ("release", "db")], [("note", "all hands on the bridge")],
    [("abort", "")],
]


def final(state: IncidentState) -> dict[str, Any]:
    return {
        "result": state.result.value,
        "steps": {sid: s.status.value for sid, s in state.steps.items()},
        "claims": sorted(state.claims),
        "notes": [n.text for n in state.notes],
    }


def script(commands: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The commands under test, then the people's answers they leave to be given."""
    if commands[0][0] == "abort":
        return commands
    touched = {target for _, target in commands}
    return [*commands, *(c for c in FINISH if c[1] not in touched)]


def as_command(verb: str, target: str) -> OperatorCommand:
    reason = "" if (verb, target) in FINISH or verb in ("claim", "release", "note", "approve") else "the test says so"
    return OperatorCommand(Action(verb), target, "alice", reason)


async def live_end(tmp_path: Path, commands: list[tuple[str, str]]) -> dict[str, Any]:
    async def act(engine: Engine) -> None:
        await until(engine, status_is("flaky", StepStatus.FAILED))
        await until(engine, status_is("a", StepStatus.SUCCEEDED))
        await until(engine, status_is("hold", StepStatus.WAITING))
        for verb, target in script(commands):
            await engine.submit(as_command(verb, target))

    run = await drive(tmp_path / "live.db", runbook(tmp_path, RUNBOOK), stop_when_waiting=False, during=act)
    return final(run.state)


def shell_end(tmp_path: Path, commands: list[tuple[str, str]]) -> dict[str, Any]:
    journal = str(tmp_path / "shell.db")
    path = str(write_runbook(tmp_path, RUNBOOK, "shell.yaml"))
    assert main(["run", path, "--headless", "--as", "alice", "--journal", journal]) == 3
    for verb, target in script(commands):
        command = as_command(verb, target)
        args = [verb, *([target] if target and verb != "abort" else []), "--as", "alice", "--journal", journal]
        assert main([*args, *(["--reason", command.reason] if command.reason else [])]) == 0, (verb, target)
    if commands[0][0] != "abort":
        assert main(["resume", "--headless", "--journal", journal]) in (0, 1)
    with JournalReader(journal) as reader:
        return final(reader.state(None))


@pytest.mark.parametrize("commands", COMMANDS, ids=lambda c: "+".join(f"{v}-{t}" if t else v for v, t in c))
def test_a_command_means_the_same_from_the_console_and_from_a_shell(tmp_path: Path,
                                                                   commands: list[tuple[str, str]]) -> None:
    live = asyncio.run(live_end(tmp_path, commands))
    assert shell_end(tmp_path, commands) == live
