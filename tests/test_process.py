"""A step's process as the engine sees it: output while the command runs, text decoded whole,
exit codes, stops that end stubborn commands, and the same on a platform without pidfd."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from warroom.engine import process
from warroom.engine.process import CommandNotStarted, StepProcess

PY = sys.executable


class Output:
    def __init__(self) -> None:
        self.chunks: list[tuple[str, str]] = []

    def __call__(self, stream: str, chunk: str) -> None:
        self.chunks.append((stream, chunk))

    def text(self, stream: str) -> str:
        return "".join(c for s, c in self.chunks if s == stream)

    async def until(self, stream: str, wanted: str) -> None:
        for _ in range(500):
            if wanted in self.text(stream):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{wanted!r} never came on {stream}; got {self.chunks!r}")


def gated(tmp_path: Path, before: str, after: str) -> list[str]:
    """A child that writes `before` (Python byte literals), waits for the file `gate`, then writes `after`."""
    gate = tmp_path / "gate"
    code = (
        "import os, sys, time\n"
        f"sys.stdout.buffer.write({before}); sys.stdout.flush()\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.005)\n"
        f"sys.stdout.buffer.write({after}); sys.stdout.flush()\n"
    )
    return [PY, "-c", code]


async def test_output_arrives_while_the_command_still_runs(tmp_path: Path) -> None:
    out = Output()
    proc = StepProcess(gated(tmp_path, "b'first\\n'", "b'second\\n'"), out)
    proc.start()
    await out.until("stdout", "first\n")
    assert "second" not in out.text("stdout")
    (tmp_path / "gate").touch()
    result = await proc.wait()
    assert (result.exit_code, result.stdout, result.stopped) == (0, "first\nsecond\n", False)


async def test_a_character_split_across_two_writes_arrives_whole(tmp_path: Path) -> None:
    out = Output()
    proc = StepProcess(gated(tmp_path, "b'caf\\xc3'", "b'\\xa9 ok\\n'"), out)
    proc.start()
    await out.until("stdout", "caf")
    (tmp_path / "gate").touch()
    result = await proc.wait()
    assert result.stdout == "café ok\n"
    assert "\ufffd" not in out.text("stdout")


async def test_exit_code_and_the_two_streams_apart() -> None:
    out = Output()
    proc = StepProcess(["sh", "-c", "echo out; echo err >&2; exit 3"], out)
    proc.start()
    result = await proc.wait()
    assert result.exit_code == 3
    assert (out.text("stdout"), out.text("stderr"), result.stdout) == ("out\n", "err\n", "out\n")


async def test_a_command_that_ignores_sigterm_is_killed_after_the_grace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(process, "KILL_GRACE_S", 0.2)
    out = Output()
    proc = StepProcess(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"], out)
    proc.start()
    await out.until("stdout", "ready")
    await proc.stop()
    result = await asyncio.wait_for(proc.wait(), 5)
    assert result.stopped
    assert result.exit_code == -9


async def test_a_missing_program_is_reported_not_raised_as_oserror() -> None:
    with pytest.raises(CommandNotStarted, match="cannot start 'no-such-program-here'"):
        StepProcess(["no-such-program-here"], Output()).start()


async def test_without_pidfd_a_waiting_thread_reports_the_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pidfd(pid: int, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd, raising=False)
    out = Output()
    proc = StepProcess(["sh", "-c", "echo done; exit 4"], out)
    proc.start()
    result = await asyncio.wait_for(proc.wait(), 5)
    assert (result.exit_code, result.stdout) == (4, "done\n")
