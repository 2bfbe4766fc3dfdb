"""Which word of a simple command is parsed again as code: the words after `eval`, the script
of a nested `sh -c`, the remote command of `ssh`, seen through wrappers such as `sudo` and `env`.

The lexer (shell.py) hands each simple command's words here as it reads them; the loader's
template check asks the same of an argv (a `run:` list), so both refuse the same places.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from warroom.runbook.shell_refusals import REFUSE_EVAL, REFUSE_SCRIPT, REFUSE_SSH, Refusal

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
