"""Step output is untrusted: whatever a command prints is shown, never obeyed.

A process can print Rich markup, ANSI colour codes or OSC sequences (a clipboard write, a
window title, a hyperlink). The console turns every control character into a visible picture
before any widget sees it, so such output reads as literal text and reaches the terminal inert.
"""

from __future__ import annotations

_C0_PICTURES = {code: chr(0x2400 + code) for code in range(0x20) if code != 0x09}
_C0_PICTURES[0x7F] = "\u2421"
_TABLE = str.maketrans(
    {**{code: picture for code, picture in _C0_PICTURES.items()},
     **{code: f"\\x{code:02x}" for code in range(0x80, 0xA0)}}
)


def visible(text: str) -> str:
    """`text` with C0/C1 controls and DEL as visible pictures ("\\x1b" -> "␛"); tabs stay."""
    return text.translate(_TABLE)
