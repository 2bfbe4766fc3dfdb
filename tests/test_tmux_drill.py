"""A real terminal: tmux (its own server) runs `warroom run --drill` at 80x24, keys are sent
as a person would type them, and the screen is read back with capture-pane.

Skipped when tmux is not installed. Polls the screen with a deadline rather than sleeping.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Tmux:
    def __init__(self, server: str) -> None:
        self.server = server

    def __call__(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.server, *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "drill")

    def wait_for(self, *texts: str, timeout: float = 20.0) -> str:
        """The screen once it shows every one of texts: panes repaint one after another."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{texts!r} never all appeared; the screen was:\n{screen}")
            time.sleep(0.1)

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "drill", *keys)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux(f"warroom-test-{os.getpid()}")
    yield t
    subprocess.run(["tmux", "-L", t.server, "kill-server"], capture_output=True)


def test_a_drill_from_start_to_end_at_80x24(tmux: Tmux, tmp_path: Path) -> None:
    journal = tmp_path / "drill.db"
    command = (f"cd {shlex.quote(str(ROOT))} && {shlex.quote(sys.executable)} -m warroom run runbooks/web-outage.yaml "
               f"--drill --speed max --seed 3 --as alice --journal {shlex.quote(str(journal))}; "
               "echo EXIT=$?; sleep 30")
    tmux("new-session", "-d", "-s", "drill", "-x", "80", "-y", "24", command)
    tmux.wait_for("1 waits for people", "1 Graph", "4 Log", "RUNNING")
    tmux.keys("w")  # the next step waiting for a person: the manual resolve-status
    tmux.wait_for("d Done")
    tmux.keys("d")
    tmux.wait_for("Mark done resolve-status?")
    tmux.keys("Enter")
    tmux.wait_for("SUCCEEDED", "✔ resolve-status")
    tmux.keys("q")
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=0" in screen


def test_sigterm_leaves_the_console_cleanly_and_the_run_is_resumable(tmux: Tmux, tmp_path: Path) -> None:
    journal = tmp_path / "drill.db"
    command = (f"cd {shlex.quote(str(ROOT))} && {shlex.quote(sys.executable)} -m warroom run runbooks/web-outage.yaml "
               f"--drill --speed max --as alice --journal {shlex.quote(str(journal))}; "
               "echo EXIT=$?; stty -a | head -1; sleep 30")
    tmux("new-session", "-d", "-s", "drill", "-x", "80", "-y", "24", command)
    tmux.wait_for("RUNNING")
    pane_pid = tmux("display-message", "-p", "-t", "drill", "#{pane_pid}").strip()
    warroom_pid = subprocess.run(["pgrep", "-P", pane_pid, "-f", "warroom run"], capture_output=True, text=True).stdout.split()[0]
    os.kill(int(warroom_pid), 15)
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=143" in screen and "warroom resume" in screen  # the terminal is back, the way on said
    from warroom.journal.store import JournalReader

    with JournalReader(journal) as reader:
        state = reader.state(None)
    assert state.result.value == "interrupted"
    warroom = [sys.executable, "-m", "warroom"]
    for step in (sid for sid, s in state.steps.items() if s.status.value in ("running", "in_doubt")):
        # a drill's steps are not idempotent: the person decides, as the resume would ask
        subprocess.run([*warroom, "retry", step, "--reason", "drill: run it again", "--journal", str(journal)],
                       check=True, capture_output=True, cwd=ROOT)
    resumed = subprocess.run([*warroom, "resume", "--headless", "--auto", "--journal", str(journal)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert resumed.returncode == 0, resumed.stderr


@pytest.mark.parametrize("attempt", range(3))
def test_a_console_whose_terminal_goes_away_journals_the_interrupt_and_is_gone(tmux: Tmux, tmp_path: Path,
                                                                                attempt: int) -> None:
    """The tmux server killed under a live console (as when an SSH session drops): SIGHUP,
    then EIO on the tty. The interrupt is journaled and the process is gone within 2 s."""
    journal = tmp_path / "drill.db"
    command = (f"cd {shlex.quote(str(ROOT))} && exec {shlex.quote(sys.executable)} -m warroom run "
               f"runbooks/web-outage.yaml --drill --speed 1 --as alice --journal {shlex.quote(str(journal))}")
    tmux("new-session", "-d", "-s", "drill", "-x", "80", "-y", "24", command)
    tmux.wait_for("RUNNING")
    pid = int(tmux("display-message", "-p", "-t", "drill", "#{pane_pid}").strip())  # exec: the pane is warroom
    subprocess.run(["tmux", "-L", tmux.server, "kill-server"], capture_output=True)
    deadline = time.monotonic() + 2.0
    while Path(f"/proc/{pid}").exists() and Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] not in "ZX":
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            pytest.fail("the console outlived its terminal by 2 s")
        time.sleep(0.05)
    from warroom.journal.store import JournalReader

    with JournalReader(journal) as reader:
        assert reader.state(None).result.value == "interrupted"
