"""Step output is untrusted: markup, ANSI and OSC sequences show as literal text, inert."""

from __future__ import annotations

from pathlib import Path

from tui_snapshot_app import HOSTILE, console_app, settle

from warroom.tui.log_tail import Entry, LineFilter
from warroom.journal.text import visible


def test_visible_turns_every_control_into_a_picture() -> None:
    shown = visible(HOSTILE + "\x9b2J\x7f\tend")
    assert shown == "[bold red]x[/] ␛[31mred␛[0m ␛]52;c;aGVsbG8=␇ end\\x9b2J␡\tend"
    assert not any(ord(ch) < 0x20 and ch != "\t" for ch in shown)


async def test_hostile_output_reaches_the_screen_literally(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app)
        await pilot.pause()
        lines = [line for line in app.log_tail.log_widget.lines if "[bold red]" in line]
        assert lines and lines[0].endswith("| [bold red]x[/] ␛[31mred␛[0m ␛]52;c;aGVsbG8=␇ end")
        screen = app.export_screenshot()
        assert "[bold red]x[/] ␛[31mred␛[0m ␛]52;c;aGVsbG8=␇ end" in screen.replace("&#160;", " ")
        assert "\x1b" not in screen and "\x07" not in screen
        # the text is drawn in the log's plain style: nothing in it turned bold or red
        y = app.log_tail.log_widget.lines.index(lines[0])
        strip = app.log_tail.log_widget._render_line_strip(y, app.log_tail.log_widget.rich_style)
        assert not any(seg.style and (seg.style.bold or (seg.style.color and seg.style.color.name == "red"))
                       for seg in strip if "x" in seg.text)


def test_log_filter_by_step_thread_or_text() -> None:
    entries = [Entry("restart", "app", "00:10", "restarted ok"), Entry("gate", "ops", "00:20", "asks approval")]
    assert [e.step for e in entries if LineFilter.parse("step:gate").admits(e)] == ["gate"]
    assert [e.step for e in entries if LineFilter.parse("thread:app").admits(e)] == ["restart"]
    assert [e.step for e in entries if LineFilter.parse("APPROVAL").admits(e)] == ["gate"]
    assert not LineFilter.parse("")


async def test_slash_filters_the_log_tail(tmp_path: Path) -> None:
    app = console_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app)
        await pilot.pause()
        await pilot.press("slash", *"step:flaky", "enter")
        await pilot.pause()
        lines = app.log_tail.log_widget.lines
        assert lines and all("flaky" in line for line in lines)
        await pilot.press("escape")
        await pilot.pause()
        assert any("gate" in line for line in app.log_tail.log_widget.lines)
