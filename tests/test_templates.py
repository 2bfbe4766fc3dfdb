"""Placeholders fill commands with data that can never become a command, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from warroom.runbook.templates import (
    TemplateError,
    command_references,
    parse_template,
    render_command,
    value_text,
)

HOSTILE = [
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned",
    "x; rm -rf pwned-dir; touch pwned",
    "' ; touch pwned; '",
    '"; touch pwned; "',
    "a\ntouch pwned",
    "$HOME ${PATH} $0",
    "* ? [a]",
    "-n",
    "&& touch pwned || touch pwned",
    "> pwned",
    "\\' \\\" \\\\",
    "",
    "héllo ✓ 世界",
]

# Arbitrary text that can travel in an argv: no NUL, no lone surrogates.
argv_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
values = st.one_of(
    st.sampled_from(HOSTILE),
    argv_text,
    st.lists(st.sampled_from(HOSTILE) | argv_text, max_size=4).map("".join),
)


def resolve_x(value: Any):
    return lambda path: value if path == ("vars", "x") else None


def run(argv: list[str], cwd: FsPath, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, timeout=10, check=False,
                          env={**os.environ, **(env or {})})


# --- parsing ----------------------------------------------------------------------------------


def test_references_and_literal_text() -> None:
    template = parse_template(
        "systemctl stop {{ vars.service }} --host={{steps.pick-host.outputs.host}}"
    )
    assert template.references == frozenset(
        {("vars", "service"), ("steps", "pick-host", "outputs", "host")}
    )
    values = {("vars", "service"): "web", ("steps", "pick-host", "outputs", "host"): "db1"}
    assert template.render(values.get) == "systemctl stop web --host=db1"
    plain = parse_template("no placeholders } {")
    assert plain.references == frozenset()
    assert plain.render(values.get) == "no placeholders } {"


@pytest.mark.parametrize(
    ("text", "fragment", "offset"),
    [
        ("echo {{ vars.x", "unterminated '{{'", 5),
        ("echo {{ vars.x }} {{", "unterminated '{{'", 18),
        ("echo {{ }}", "empty '{{ }}'", 5),
        (
            "echo {{ vars.a + 1 }}",
            "only a single path like vars.name may go inside '{{ }}', got 'vars.a + 1'",
            8,
        ),
        ("echo {{ vars.a vars.b }}", "got 'vars.a vars.b'", 8),
        ("echo {{   vars..b }}", "got 'vars..b'", 10),
        ("echo {{ true }}", "got 'true'", 8),
        ("{{ __import__('os') }}", "only a single path", 3),
    ],
)
def test_template_errors_say_where(text: str, fragment: str, offset: int) -> None:
    with pytest.raises(TemplateError) as info:
        parse_template(text)
    assert fragment in info.value.message
    assert info.value.offset == offset


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""), (True, "true"), (False, "false"), (3, "3"), (2.5, "2.5"), ("as is", "as is"),
        ([1, "a"], '[1,"a"]'), ({"k": [1, 2]}, '{"k":[1,2]}'),
    ],
)
def test_value_to_text(value: Any, text: str) -> None:
    assert value_text(value) == text
    assert parse_template("<{{ vars.x }}>").render(resolve_x(value)) == f"<{text}>"


def test_values_go_through_the_environment_not_the_author_text() -> None:
    """The rule changed on purpose (issue 13): values are no longer shell-quoted into the
    text; each placeholder becomes an environment reference and the value its variable."""
    rendered = render_command("grep -c 'a b' {{ vars.x }} | wc -l", resolve_x("my file"))
    assert rendered.argv == ["sh", "-c", "grep -c 'a b' \"${WARROOM_T1}\" | wc -l"]
    assert rendered.env == {"WARROOM_T1": "my file"}
    assert rendered.shown == "grep -c 'a b' my file | wc -l"


def test_render_command_shapes() -> None:
    resolve = resolve_x("web 1")
    rendered = render_command("systemctl stop {{ vars.x }} \"{{ vars.x }}\"", resolve)
    assert rendered.argv == ["sh", "-c", 'systemctl stop "${WARROOM_T1}" "${WARROOM_T1}"']
    assert rendered.env == {"WARROOM_T1": "web 1"}
    argv = render_command(("systemctl", "stop", "{{ vars.x }}"), resolve)
    assert (argv.argv, argv.env, argv.shown) == (["systemctl", "stop", "web 1"], {}, ["systemctl", "stop", "web 1"])
    assert render_command(["echo", "--name={{vars.x}}!"], resolve).argv == ["echo", "--name=web 1!"]


def test_command_references() -> None:
    assert command_references("a {{ vars.a }} {{ secrets.T }}") == frozenset(
        {("vars", "a"), ("secrets", "T")}
    )
    assert command_references(("a", "{{ vars.a }}", "{{ steps.s.outputs.o }}")) == frozenset(
        {("vars", "a"), ("steps", "s", "outputs", "o")}
    )
    assert command_references(()) == frozenset()
    with pytest.raises(TemplateError):
        command_references(("ok", "{{ broken"))


def test_parsing_is_cached() -> None:
    assert parse_template("x {{ vars.y }}") is parse_template("x {{ vars.y }}")


# --- hostile values through a real shell ------------------------------------------------------


def test_without_quoting_the_hostile_value_would_run(tmp_path: FsPath) -> None:
    """The control for the property below: the same value unquoted does create a file."""
    template = parse_template("printf %s {{ vars.x }}")
    unquoted = template.render(resolve_x("$(touch pwned)"))
    run(["sh", "-c", unquoted], tmp_path)
    assert (tmp_path / "pwned").exists()


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=values)
@example(value="$(touch pwned)")
@example(value="`touch pwned`")
@example(value="a'\n; touch pwned #")
def test_sh_c_prints_exactly_the_value_and_runs_nothing(tmp_path: FsPath, value: str) -> None:
    rendered = render_command("printf %s {{ vars.x }}", resolve_x(value))
    result = run(rendered.argv, tmp_path, rendered.env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == value.encode()
    assert list(tmp_path.iterdir()) == []


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=values)
@example(value="two words; touch pwned")
def test_argv_keeps_a_value_in_its_one_argument(tmp_path: FsPath, value: str) -> None:
    script = "import json, sys; sys.stdout.write(json.dumps(sys.argv[1:]))"
    command = (sys.executable, "-c", script, "<{{ vars.x }}>", "{{ vars.x }}")
    result = run(render_command(command, resolve_x(value)).argv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [f"<{value}>", value]
    assert list(tmp_path.iterdir()) == []
