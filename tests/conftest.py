"""Fixtures the test modules share (support code they import lives in *_support.py)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """Mounts a real tmpfs of a given size under tmp_path (root only; skipped elsewhere),
    unmounted when the test ends."""
    mounts: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("needs root to mount a filesystem")
        path = tmp_path / name
        path.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode:
            pytest.skip("cannot mount a tmpfs here")
        mounts.append(path)
        return path

    yield mount
    for path in reversed(mounts):
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True)


@pytest.fixture(autouse=True)
def no_journal_connection_outlives_its_test() -> Iterator[None]:
    """A journal connection left open keeps a non-daemon thread, so the process never exits:
    the console or a test that drops a writer would hang the command (and CI) at its end."""
    yield
    leaked = [t for t in threading.enumerate() if t.name.endswith("(_connection_worker_thread)")]
    for thread in leaked:
        thread.join(timeout=5)
    alive = [t.name for t in leaked if t.is_alive()]
    assert not alive, f"journal connections still open after the test: {alive}"
