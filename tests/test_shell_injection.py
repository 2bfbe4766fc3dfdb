"""Values never execute, whatever the quoting around their placeholder (issue 13, item 1).

A corpus of hostile values is rendered into every shell context and run by real shells: in
the contexts warroom accepts the value arrives exactly and no file appears; the contexts it
cannot make safe are refused by the loader with file:line:col and by the renderer.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from engine_support import cli, drive, runbook, write_runbook

from warroom.journal.state import StepStatus
from warroom.runbook.templates import CommandRenderError, TemplateError, command_problems, render_command

PAYLOADS = [
    "$(touch P)",
    "`touch P`",
    "'; touch P; '",
    '"; touch P; "',
    "x\ntouch P",
    "$((1+1)) $((a[$(touch P)]))",
    "${IFS}touch${IFS}P",
    "* ? [a-z]*",
    "\\",
    "a\\",
    "\\$(touch P)",
    "EOF\ntouch P\nEOF",
    "-n",
    "",
]

# (command, how the value v shows in stdout): contexts where the value reaches the command inert.
ALLOWED: list[tuple[Any, str]] = [
    ("printf '%s|' {{ vars.x }}", "{v}|"),
    ("printf '%s|' pre{{ vars.x }}post", "pre{v}post|"),
    ("printf '%s|' \"in quotes {{ vars.x }} !\"", "in quotes {v} !|"),
    ("printf '%s|' 'a '{{ vars.x }}' b'", "a {v} b|"),
    ("printf '%s|' \"`printf '%s' {{ vars.x }}`\"", "{v}|"),
    ("printf '%s|' \"`printf '%s' \"{{ vars.x }}\"`\"", "{v}|"),
    ("printf '%s|' \"$(printf '%s' {{ vars.x }})\"", "{v}|"),
    ("printf '%s|' \"$(printf '%s' \"<{{ vars.x }}>\")\"", "<{v}>|"),
    ("cat <<EOF\n{{ vars.x }}\nEOF", "{v}\n"),
    ("cat <<-EOF\n\t[{{ vars.x }}]\n\tEOF", "[{v}]\n"),
    ("printf '%s|' {{ vars.x }} # {{ vars.x }}", "{v}|"),
    ("sh -c 'printf \"%s|\" \"$1\"' sh {{ vars.x }}", "{v}|"),
    ("X={{ vars.x }}; eval 'printf \"%s|\" \"$X\"'", "{v}|"),
    ("for w in {{ vars.x }}; do printf '%s|' \"$w\"; done", "{v}|"),
    (["sh", "-c", "printf '%s|' {{ vars.x }}"], "{v}|"),
    (["bash", "-ec", "printf '%s|' \"{{ vars.x }}\""], "{v}|"),
    (["printf", "%s|", "{{ vars.x }}"], "{v}|"),
    (["sh", "-c", "printf '%s|' \"$1\"", "sh", "{{ vars.x }}"], "{v}|"),
]

REFUSED: list[tuple[Any, str]] = [
    ("echo 'a {{ vars.x }}'", "single quotes"),
    ("echo $'{{ vars.x }}'", "$'...'"),
    ("cat <<'EOF'\n{{ vars.x }}\nEOF", "quoted heredoc"),
    ('cat <<"EOF"\n{{ vars.x }}\nEOF', "quoted heredoc"),
    ("cat <<\\EOF\n{{ vars.x }}\nEOF", "quoted heredoc"),
    ('sh -c "echo {{ vars.x }}"', "nested shell"),
    ("bash -c echo\\ {{ vars.x }}", "nested shell"),
    ("sh -c {{ vars.x }}", "nested shell"),
    ('sudo -u root bash -ec "{{ vars.x }}"', "nested shell"),
    ('kubectl exec pod -- sh -c "echo {{ vars.x }}"', "nested shell"),
    ('echo "$(sh -c "echo {{ vars.x }}")"', "nested shell"),
    ("eval echo {{ vars.x }}", "eval"),
    ('eval "echo {{ vars.x }}"', "eval"),
    ("ssh db1 echo {{ vars.x }}", "ssh"),
    ("ssh -p 2222 -o BatchMode=yes db1 'echo' \"{{ vars.x }}\"", "ssh"),
    ("echo $(( {{ vars.x }} + 1 ))", "arithmetic"),
    ("echo ${HOME:-{{ vars.x }}}", "${ }"),
    ("echo \\{{ vars.x }}", "backslash"),
    (["ssh", "db1", "echo {{ vars.x }}"], "ssh"),
    (["sh", "-c", "sh -c \"echo {{ vars.x }}\""], "nested shell"),
    (["sh", "-c", "echo '{{ vars.x }}'"], "single quotes"),
]


def resolve_x(value: str) -> Any:
    return lambda path: value if path == ("vars", "x") else None


def spawn(command: Any, value: str, cwd: FsPath, shell: str) -> subprocess.CompletedProcess[bytes]:
    rendered = render_command(command, resolve_x(value))
    argv = [shell, *rendered.argv[1:]] if isinstance(command, str) else rendered.argv
    return subprocess.run(argv, cwd=cwd, capture_output=True, timeout=10, check=False,
                          env={**os.environ, **rendered.env})


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize(("command", "expected"), ALLOWED, ids=[repr(c)[:40] for c, _ in ALLOWED])
def test_allowed_contexts_deliver_every_payload_literally(tmp_path: FsPath, command: Any, expected: str, shell: str) -> None:
    assert command_problems(command) == []
    (tmp_path / "file").write_text("")  # for globs to match if a value were ever expanded
    for value in PAYLOADS:
        result = spawn(command, value, tmp_path, shell)
        assert result.returncode == 0, (value, result.stderr)
        assert result.stdout.decode() == expected.format(v=value), value
        assert sorted(p.name for p in tmp_path.iterdir()) == ["file"], value


@pytest.mark.parametrize(("command", "why"), REFUSED, ids=[repr(c)[:40] for c, _ in REFUSED])
def test_unsafe_contexts_are_refused_and_never_rendered(command: Any, why: str) -> None:
    problems = command_problems(command)
    assert len(problems) == 1, problems
    assert why in problems[0].reason
    with pytest.raises(CommandRenderError):
        render_command(command, resolve_x("$(touch P)"))


def test_without_the_refusal_the_refused_contexts_would_run(tmp_path: FsPath) -> None:
    """The control: pasted as text, as the old renderer did, these contexts run the value."""
    for script in ("sh -c \"echo $(touch P1)\"", "eval echo '$(touch P2)'", "echo '';touch P3;''"):
        subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True, timeout=10, check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P1", "P2", "P3"]


def test_secrets_never_go_into_an_argv() -> None:
    problems = command_problems(["curl", "-H", "Authorization: {{ secrets.TOKEN }}"])
    assert [p.item for p in problems] == [2] and "visible to every local user" in problems[0].reason
    rendered = render_command('curl -H "Authorization: {{ secrets.TOKEN }}"', lambda path: "s3cr3t")
    assert "s3cr3t" not in " ".join(rendered.argv) and rendered.env == {"WARROOM_T1": "s3cr3t"}


def test_validate_refuses_with_file_line_col_and_how(tmp_path: FsPath) -> None:
    path = write_runbook(tmp_path, """\
        vars: {svc: web}
        steps:
          - id: a
            run: echo 'stopping {{ vars.svc }}'
          - id: b
            run: [sh, -c, "ssh db1 systemctl stop {{ vars.svc }}"]
        """)
    result = cli("validate", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"{path}:4:28: inside single quotes") and "' b'" in lines[0]
    assert lines[1].startswith(f"{path}:6:46: ssh hands its remote command") and "stdin" in lines[1]
    assert "Traceback" not in result.stderr


async def test_a_captured_output_never_runs_in_a_later_step(tmp_path: FsPath, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's reproduction: an output holding `$(touch PWNED)` fed to `echo "..."`."""
    rb = runbook(tmp_path, """\
        steps:
          - id: src
            run: printf 'v2=%s\\n' '$(touch PWNED)' '`touch PWNED`'
            outputs: {v2: {regex: 'v2=(.*)'}}
          - id: use
            needs: [src]
            run: echo "value is {{ steps.src.outputs.v2 }}"; echo {{ steps.src.outputs.v2 }}
        """)
    monkeypatch.chdir(tmp_path)  # where a command that ran would create PWNED
    run = await drive(tmp_path / "j.db", rb)
    assert run.status("use") is StepStatus.SUCCEEDED
    assert not (tmp_path / "PWNED").exists()
    lines = [e.data["text"] for e in run.of("step.output", "use")]
    assert lines == ["value is $(touch PWNED)", "$(touch PWNED)"]
    assert run.first("step.started", "use").data["command"] == 'echo "value is $(touch PWNED)"; echo $(touch PWNED)'


def test_a_var_override_never_runs(tmp_path: FsPath) -> None:
    path = write_runbook(tmp_path, """\
        vars: {svc: web}
        steps:
          - id: a
            run: echo "stopping {{ vars.svc }}" && echo {{ vars.svc }}
        """)
    result = cli("run", str(path), "--headless", "--journal", str(tmp_path / "j.db"),
                 "--var", "svc=x' ; touch PWNED ; echo '", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "PWNED").exists()


FRAGMENTS = [
    "printf %s ", "echo ", "'", '"', "`", "$(", ")", " ", "\\", "\n", "<<EOF\n", "<<-EOF\n",
    "<<'EOF'\n", "EOF\n", "eval ", "sh -c ", "bash -c ", "ssh h ", "sudo ", "#", "${", "}",
    "$((", "))", "$'", "x", ";", "|", "&&", "=", "X=", "{{ vars.x }}", "{{ vars.x }}",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14), value=st.sampled_from(PAYLOADS[:7]))
def test_whatever_the_author_writes_an_accepted_command_never_runs_a_value(tmp_path: FsPath, parts: list[str], value: str) -> None:
    """Random shell text around placeholders: either validate refuses it, or real shells
    given the hostile value create no file (the author's own text never touches a file)."""
    command = "".join(parts)
    try:
        if "{{" not in command or command_problems(command):
            return
    except TemplateError:
        return
    for shell in ("sh", "bash"):
        subprocess.run([shell, *render_command(command, resolve_x(value)).argv[1:]], cwd=tmp_path, capture_output=True,
                       timeout=10, check=False, stdin=subprocess.DEVNULL,
                       env={**os.environ, **render_command(command, resolve_x(value)).env})
        assert list(tmp_path.iterdir()) == [], (command, value, shell)
