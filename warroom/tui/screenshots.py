"""Regenerates screenshots/*.svg: `python -m warroom.tui.screenshots [--out DIR] [--size WxH]`.

Each picture is a demo scenario (see demo.py) driven headless to its state, so the images
in the README always show the console as it is now, and the same on every machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from warroom.tui.demo import arrive, build_app, build_replay_app, record

REPLAY = "replay"
SHOTS = {
    "mid-incident": "console-mid-incident.svg",
    "approval": "console-approval.svg",
    "lock-conflict": "console-lock-conflict.svg",
    "failure-rollback": "console-failure-rollback.svg",
    REPLAY: "console-replay.svg",
}


async def shoot(name: str, out: Path, size: tuple[int, int]) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        journal = Path(tmp) / "journal.db"
        app = build_replay_app(journal, await record(journal)) if name == REPLAY else build_app(name, journal)
        async with app.run_test(size=size) as pilot:
            if name == REPLAY:
                await pilot.pause()
            else:
                await arrive(app, pilot, name)
            target = out / SHOTS[name]
            app.save_screenshot(target.name, str(out))
        return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warroom.tui.screenshots", description=__doc__)
    parser.add_argument("--out", default="screenshots", help="directory for the SVG files")
    parser.add_argument("--size", default="160x48", help="terminal size, WIDTHxHEIGHT")
    args = parser.parse_args(argv)
    width, _, height = args.size.partition("x")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in SHOTS:
        print(asyncio.run(shoot(name, out, (int(width), int(height)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
