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
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})
# Words after which the next word is still the command: reserved words and wrappers that
# run the rest of their argv (with the options that take an argument).
_RESERVED = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nice": frozenset({"-n"}),
    "nohup": frozenset(),
    "exec": frozenset({"-a"}),
    "command": frozenset(),
    "setsid": frozenset(),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "timeout": frozenset({"-s", "-k"}),
}
_SSH_ARG_OPTIONS = frozenset("BbcDEeFIiJLlmOoPpQRSWw")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


class Slot(enum.Enum):
    """How a placeholder's environment reference is written where it sits."""

    WORD = "word"  # unquoted: `"${V}"`, one word, never split or globbed
    QUOTED = "quoted"  # inside double quotes or an unquoted heredoc: `${V}`

    def reference(self, name: str) -> str:
        return f'"${{{name}}}"' if self is Slot.WORD else f"${{{name}}}"


@dataclass(frozen=True)
class Refusal:
    """A placeholder no environment reference makes inert: why, and how to write it safely."""

    reason: str


REFUSE_SINGLE = Refusal(
    "inside single quotes the value would become shell text; end the quotes before the "
    "placeholder and reopen them after it: echo 'a '{{ vars.x }}' b'"
)
REFUSE_ANSI = Refusal("inside $'...' the value would become shell text; put the placeholder outside the quotes")
REFUSE_HEREDOC = Refusal(
    "a quoted heredoc (<<'EOF') expands nothing, so the value would be pasted in as text; "
    "use an unquoted delimiter (<<EOF), where it is passed through the environment"
)
REFUSE_DELIMITER = Refusal("a heredoc delimiter cannot be a placeholder")
REFUSE_ARITH = Refusal(
    "inside $(( )) the value is evaluated as arithmetic, and bash runs commands found in it; "
    "compute outside the shell, or check the value in an earlier step"
)
REFUSE_PARAM = Refusal("inside ${ } the value would become shell text; put the placeholder outside the braces")
REFUSE_ESCAPE = Refusal("a backslash right before a placeholder would escape its quoting; remove the backslash")
REFUSE_EVAL = Refusal(
    "eval parses its words again as shell code, so the value would run; pass it through a "
    "variable quoted inside the eval'd text: X={{ vars.x }}; eval 'echo \"$X\"'"
)
REFUSE_SCRIPT = Refusal(
    "this is the script of a nested shell (sh -c SCRIPT), which parses it again, so the value "
    "would run; pass it as an argument after the script: sh -c 'echo \"$1\"' sh {{ vars.x }}"
)
REFUSE_SSH = Refusal(
    "ssh hands its remote command to the remote shell, which parses the value as code; send "
    "it on stdin instead: printf '%s\\n' {{ vars.x }} | ssh HOST 'read -r v; echo \"$v\"'"
)


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


def command_refusal(words: Sequence[str | None], index: int) -> Refusal | None:
    """Why the word at `index` of a simple command's words may not hold a placeholder:
    it is parsed again as code (after eval, the script of `sh -c`, ssh's remote command).
    A word that is None holds a placeholder or an expansion: its text is unknown."""
    i = 0
    while i < index and words[i] is not None and _ASSIGNMENT.match(words[i] or ""):
        i += 1
    while i < index:
        name = _program(words[i])
        if name in _RESERVED:
            i += 1
        elif name in _WRAPPERS:
            i = _skip_options(words, i + 1, index, _WRAPPERS[name])
            if name == "env":
                while i < index and _ASSIGNMENT.match(words[i] or ""):
                    i += 1
            elif name == "timeout" and i < index:
                i += 1  # the duration
        else:
            break
    if i >= index:
        return None
    name = _program(words[i])
    if name == "eval":
        return REFUSE_EVAL
    if name == "ssh":
        host = _skip_options(words, i + 1, index, frozenset(f"-{o}" for o in _SSH_ARG_OPTIONS))
        return REFUSE_SSH if index > host else None
    return REFUSE_SCRIPT if shell_script_index(words[: index + 1]) == index else None


def shell_script_index(words: Sequence[str | None]) -> int | None:
    """The index of the script word of the last `SHELL ... -c SCRIPT` in these words (a
    nested shell found anywhere, for `sudo sh -c`, `kubectl exec pod -- sh -c` and the like)."""
    found = None
    for k, word in enumerate(words):
        if _program(word) not in SHELLS:
            continue
        j, has_c = k + 1, False
        while j < len(words) and (w := words[j]) is not None and w.startswith(("-", "+")) and w not in ("-", "--"):
            has_c = has_c or (w.startswith("-") and "c" in w[1:])
            j += 2 if w in ("-o", "+o") else 1
        if has_c and j < len(words):
            found = j
    return found


def _program(word: str | None) -> str | None:
    return os.path.basename(word) if word is not None else None


def _skip_options(words: Sequence[str | None], i: int, stop: int, with_argument: frozenset[str]) -> int:
    while i < stop and (w := words[i]) is not None and w.startswith("-") and w != "-":
        i += 1
        if w == "--":
            break
        if w in with_argument:
            i += 1
    return i
