"""Untrusted text (step output, notes, reasons, names) is shown, never obeyed.

A process can print ANSI colour codes or OSC sequences (a clipboard write, a window title, a
hyperlink), a carriage return that hides what came before, or a NUL. Everything that reaches
a terminal (the console, `--headless`, `replay --headless`, exports) turns every control
character into a visible picture first, with this one function, so such text reads as
literal and reaches the terminal inert. Spreadsheets get the same care: a CSV cell that a
spreadsheet would run as a formula is written so it reads as text.
"""

from __future__ import annotations

_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if code != 0x09}
_C0_PICTURES[0x7F] = "\u2421"
_TABLE = str.maketrans(
    {**{code: picture for code, picture in _C0_PICTURES.items()},
     **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)}}
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def visible(text: str) -> str:
    """`text` with C0/C1 controls and DEL as visible pictures ("\\x1b" -> "␛"); tabs stay."""
    return text.translate(_TABLE)


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell no spreadsheet runs: one starting like a formula gets a leading `'`
    (OWASP's advice), which spreadsheets show as text and hide."""
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell
