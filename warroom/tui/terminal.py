"""A terminal that may go away under the console (a tmux server killed, an SSH session
dropped): from then on a write to it fails with EIO. Textual's writer thread dies on that
first failure and its queue fills, so the next frame blocks the event loop for good and the
SIGHUP that should end the run is never handled. Writes to a terminal that has gone are
dropped instead, so the console journals the interrupt and leaves (issue 11.10).
"""

from __future__ import annotations

from typing import IO, Any

from textual.driver import Driver


class GoneSafe:
    """The console's output file, where a failed write means the terminal has gone."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._file.write(text)
            except OSError:
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self.gone = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def surviving(driver_class: type[Driver]) -> type[Driver]:
    """`driver_class` writing through GoneSafe (drivers without a `_file` are left as they are)."""

    class Surviving(driver_class):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            file: IO[str] | None = getattr(self, "_file", None)
            if file is not None:
                setattr(self, "_file", GoneSafe(file))

    Surviving.__name__ = f"Surviving{driver_class.__name__}"
    return Surviving
