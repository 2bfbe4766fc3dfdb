"""Why a placeholder is refused, in words that tell the runbook's author how to write it safely.

Each is a place where no environment reference makes the substituted value inert (the shell,
or a command, parses it again); the lexer (shell.py) and the command words (shell_commands.py)
name the one that applies, and validate reports it at the placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass


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
