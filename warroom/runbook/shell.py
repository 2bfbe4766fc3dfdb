"""Where each placeholder of a shell command sits, as the shell will read it.

A value substituted into shell text is code unless the shell never parses it. The one form
that holds in every context is a variable reference, the value itself travelling in the
child's environment (GitHub Actions gives the same advice for `run:` scripts). Whether the
reference must be written `"${V}"` or `${V}` depends on the quoting around the placeholder,
and in some places no reference is inert: single quotes (no expansion at all), a quoted
heredoc, arithmetic, the script of a nested `sh -c`, the words after `eval`, the remote
command of `ssh` (each parses text again). This lexer walks the template's literal text with a
stack of quoting states and says, per placeholder, which form to write or why it is refused.

It is a lexer, not a shell: it knows quotes, escapes, `$( )`, backticks, `${ }`, `$(( ))`,
heredocs, comments, and enough of the words of a simple command to see `eval`, `sh -c`
and `ssh HOST`. What it cannot tell apart it refuses rather than guesses.
Which command words are parsed again is in shell_commands.py, the refusals' texts in
shell_refusals.py.
"""

from __future__ import annotations
import enum
from dataclasses import dataclass, field

from warroom.runbook.shell_commands import command_refusal
from warroom.runbook.shell_refusals import (
    REFUSE_ANSI,
    REFUSE_ARITH,
    REFUSE_DELIMITER,
    REFUSE_ESCAPE,
    REFUSE_HEREDOC,
    REFUSE_PARAM,
    REFUSE_SINGLE,
    Refusal,
)


class Slot(enum.Enum):
    """How a placeholder's environment reference is written where it sits."""

    WORD = "word"  # unquoted: `"${V}"`, one word, never split or globbed
    QUOTED = "quoted"  # inside double quotes or an unquoted heredoc: `${V}`

    def reference(self, name: str) -> str:
        return f'"${{{name}}}"' if self is Slot.WORD else f"${{{name}}}"


class _Kind(enum.Enum):
    COMMAND = "command"  # top level, `$( )`, backticks: words and commands
    DOUBLE = "double"
    SINGLE = "single"
    ANSI = "ansi"
    PARAM = "param"
    ARITH = "arith"
    COMMENT = "comment"
    HEREDOC = "heredoc"


@dataclass
class _Frame:
    kind: _Kind
    closer: str = ""  # what ends a command frame: "" (end of text), ")" or "`"
    words: list[str | None] = field(default_factory=list)  # None: holds a placeholder
    word: list[str] = field(default_factory=list)
    in_word: bool = False
    dynamic: bool = False
    quoted: bool = False  # the word in progress used quotes or a backslash
    depth: int = 0  # unquoted "(" inside `$( )`, or "{" inside `${ }`
    delimiter_next: bool = False  # the word in progress is a heredoc delimiter
    strip_tabs: bool = False
    # heredoc frames
    delimiter: str = ""
    expands: bool = True
    line: list[str] = field(default_factory=list)


@dataclass
class _Heredoc:
    delimiter: str
    expands: bool
    strip_tabs: bool


class ShellLexer:
    """Feeds literal text and placeholders in order; `slot()` at each placeholder."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = [_Frame(_Kind.COMMAND)]
        self.pending: list[_Heredoc] = []
        self.escape = False  # the last character was an unconsumed backslash

    # placeholders ---------------------------------------------------------------------------
    def placeholder(self) -> Slot | Refusal:
        """The form for a placeholder at the current position; it then counts as word text."""
        if self.escape:
            return REFUSE_ESCAPE
        top = self.stack[-1]
        command = self._command_frame()
        if top.kind is _Kind.COMMENT:
            return Slot.QUOTED
        refusal = {
            _Kind.SINGLE: REFUSE_SINGLE, _Kind.ANSI: REFUSE_ANSI, _Kind.ARITH: REFUSE_ARITH,
            _Kind.PARAM: REFUSE_PARAM,
        }.get(top.kind)
        if refusal is not None:
            return refusal
        if top.kind is _Kind.HEREDOC:
            top.line.append("\0")
            return Slot.QUOTED if top.expands else REFUSE_HEREDOC
        if command.delimiter_next:
            return REFUSE_DELIMITER
        refusal = command_refusal([*command.words, None], len(command.words))
        command.in_word = command.dynamic = True
        if refusal is not None:
            return refusal
        return Slot.QUOTED if top.kind is _Kind.DOUBLE else Slot.WORD

    # literal text ---------------------------------------------------------------------------
    def feed(self, text: str) -> None:
        i = 0
        while i < len(text):
            i = self._step(text, i)

    def _command_frame(self) -> _Frame:
        return next(f for f in reversed(self.stack) if f.kind is _Kind.COMMAND)

    def _push(self, kind: _Kind, closer: str = "") -> None:
        self.stack.append(_Frame(kind, closer))

    def _add(self, ch: str, *, quoted: bool = False) -> None:
        frame = self._command_frame()
        frame.word.append(ch)
        frame.in_word = True
        frame.quoted = frame.quoted or quoted

    def _end_word(self, frame: _Frame) -> None:
        if not frame.in_word:
            return
        text = "".join(frame.word)
        if frame.delimiter_next:
            self.pending.append(_Heredoc(text, not frame.quoted, frame.strip_tabs))
            frame.delimiter_next = False
        else:
            frame.words.append(None if frame.dynamic else text)
        frame.word, frame.in_word, frame.dynamic, frame.quoted = [], False, False, False

    def _end_command(self, frame: _Frame) -> None:
        self._end_word(frame)
        frame.words = []

    def _step(self, text: str, i: int) -> int:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        frame = self.stack[-1]
        if self.escape:
            self.escape = False
            if frame.kind is _Kind.HEREDOC:
                frame.line.append(ch)
            elif frame.kind is _Kind.COMMAND and ch == "\n":
                pass  # a line continuation
            else:
                self._add(ch, quoted=True)
            return i + 1
        kind = frame.kind
        if kind is _Kind.SINGLE:
            if ch == "'":
                self.stack.pop()
            else:
                self._add(ch, quoted=True)
            return i + 1
        if kind is _Kind.ANSI:
            if ch == "\\":
                return i + 2
            if ch == "'":
                self.stack.pop()
            return i + 1
        if kind is _Kind.COMMENT:
            if ch == "\n":
                self.stack.pop()
                return self._step(text, i)
            return i + 1
        if kind is _Kind.HEREDOC:
            return self._heredoc_step(frame, text, i)
        if ch == "\\":
            self.escape = True
            if kind is _Kind.DOUBLE and nxt not in ('$', '`', '"', "\\", "\n", ""):
                self.escape = False
                self._add(ch, quoted=True)
            return i + 1
        if ch == "$":
            return self._dollar(text, i)
        if ch == "`":
            if kind is _Kind.COMMAND and frame.closer == "`":
                self._close_command(frame)
            else:
                self._add_marker()
                self._push(_Kind.COMMAND, "`")
            return i + 1
        if kind is _Kind.DOUBLE:
            if ch == '"':
                self.stack.pop()
            else:
                self._add(ch, quoted=True)
            return i + 1
        if kind is _Kind.PARAM:
            if ch == "{":
                frame.depth += 1
            elif ch == "}":
                if frame.depth == 0:
                    self.stack.pop()
                else:
                    frame.depth -= 1
            elif ch in "'\"" and self.stack[-2].kind is _Kind.COMMAND:
                self._push(_Kind.SINGLE if ch == "'" else _Kind.DOUBLE)
            return i + 1
        if kind is _Kind.ARITH:
            if ch == "(":
                frame.depth += 1
            elif ch == ")":
                if frame.depth == 0 and nxt == ")":
                    self.stack.pop()
                    return i + 2
                frame.depth -= 1
            return i + 1
        return self._command_step(frame, text, i)

    def _add_marker(self) -> None:
        """An expansion inside a word: the word's text is no longer known."""
        if self.stack[-1].kind is _Kind.HEREDOC:
            return
        frame = self._command_frame()
        frame.in_word = frame.dynamic = True

    def _dollar(self, text: str, i: int) -> int:
        rest = text[i + 1 : i + 3]
        if rest.startswith("(("):
            self._add_marker()
            self._push(_Kind.ARITH)
            return i + 3
        if rest.startswith("("):
            self._add_marker()
            self._push(_Kind.COMMAND, ")")
            return i + 2
        if rest.startswith("{"):
            self._add_marker()
            self._push(_Kind.PARAM)
            return i + 2
        if rest.startswith("'") and self.stack[-1].kind is _Kind.COMMAND:
            self._add_marker()
            self._push(_Kind.ANSI)
            return i + 2
        if rest[:1] and (rest[0].isalnum() or rest[0] in "_@*#?$!-"):
            self._add_marker()
        else:
            self._add("$")
        return i + 1

    def _close_command(self, frame: _Frame) -> None:
        self._end_command(frame)
        self.stack.pop()

    def _command_step(self, frame: _Frame, text: str, i: int) -> int:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if ch == "'":
            self._push(_Kind.SINGLE)
            frame.in_word = frame.quoted = True
            return i + 1
        if ch == '"':
            self._push(_Kind.DOUBLE)
            frame.in_word = frame.quoted = True
            return i + 1
        if ch == "#" and not frame.in_word:
            self._push(_Kind.COMMENT)
            return i + 1
        if ch == ")" and frame.closer == ")":
            if frame.depth == 0:
                self._close_command(frame)
                return i + 1
            frame.depth -= 1
        if ch == "(" and frame.closer == ")":
            frame.depth += 1
        if ch == "\n":
            self._end_command(frame)
            if self.pending:
                self._open_heredoc()
            return i + 1
        if ch in " \t":
            self._end_word(frame)
            return i + 1
        if ch in ";&|()":
            self._end_command(frame)
            return i + 1
        if ch in "<>":
            self._end_word(frame)
            if text.startswith("<<", i) and not text.startswith("<<<", i):
                frame.strip_tabs = text.startswith("<<-", i)
                frame.delimiter_next = True
                return i + (3 if frame.strip_tabs else 2)
            return i + (2 if nxt == "&" else 1)
        self._add(ch)
        return i + 1

    def _open_heredoc(self) -> None:
        doc = self.pending.pop(0)
        self.stack.append(_Frame(_Kind.HEREDOC, delimiter=doc.delimiter, expands=doc.expands,
                                 strip_tabs=doc.strip_tabs))

    def _heredoc_step(self, frame: _Frame, text: str, i: int) -> int:
        ch = text[i]
        if ch == "\n":
            line = "".join(frame.line)
            if (line.lstrip("\t") if frame.strip_tabs else line) == frame.delimiter:
                self.stack.pop()
                if self.pending:
                    self._open_heredoc()
            else:
                frame.line = []
            return i + 1
        frame.line.append(ch)
        if frame.expands:
            if ch == "\\":
                self.escape = True
            elif ch == "$" and text[i + 1 : i + 2] in ("(", "{"):
                frame.line.pop()
                return self._dollar(text, i)
            elif ch == "`":
                self._push(_Kind.COMMAND, "`")
        return i + 1
