"""Conditions in runbooks read values safely, coerce captured text, and fail with a place."""

from __future__ import annotations

import time
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.runbook.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    ExpressionError,
    Path,
    parse_expression,
    parse_path,
    truthy,
)


def resolver(values: dict[str, Any]):
    """Resolve dotted keys from a flat dict; unknown paths have no value yet (None)."""
    return lambda path: values.get(".".join(path))


def evaluate(text: str, **values: Any) -> Any:
    """Evaluate with keyword values, `vars__a` standing for the path vars.a."""
    dotted = {key.replace("__", "."): value for key, value in values.items()}
    return parse_expression(text).evaluate(resolver(dotted))


def error_of(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    return info.value


# --- reading values ---------------------------------------------------------------------------


def test_paths_with_step_ids_containing_dashes_are_resolved() -> None:
    values = {"steps.stop-app.status": "succeeded", "steps.check-db.outputs.state": "ready"}
    expr = parse_expression(
        'steps.stop-app.status == "succeeded" and steps.check-db.outputs.state == "ready"'
    )
    assert expr.evaluate(resolver(values)) is True
    assert expr.references == frozenset(
        {("steps", "stop-app", "status"), ("steps", "check-db", "outputs", "state")}
    )


def test_references_cover_every_path_including_list_items_and_negations() -> None:
    expr = parse_expression('not vars.a in [vars.b, "x"] or (secrets.CDN_TOKEN != null)')
    assert expr.references == frozenset(
        {("vars", "a"), ("vars", "b"), ("secrets", "CDN_TOKEN")}
    )
    assert expr.text == 'not vars.a in [vars.b, "x"] or (secrets.CDN_TOKEN != null)'


def test_a_bare_path_evaluates_to_its_value() -> None:
    assert evaluate("vars.service", vars__service="web") == "web"
    assert parse_expression("vars.flag").test(resolver({"vars.flag": "false"})) is False
    assert parse_expression("vars.flag").test(resolver({"vars.flag": "yes"})) is True


# --- semantics --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("steps.cpu.outputs.pct > 80", "93", True),
        ("steps.cpu.outputs.pct > 80", "79.5", False),
        ("steps.cpu.outputs.pct >= 93", "93", True),
        ("steps.cpu.outputs.pct == 93", "93", True),
        ("steps.cpu.outputs.pct == 93", " 93\n", True),
        ("steps.cpu.outputs.pct != 93", "93.0", False),
        ("steps.cpu.outputs.pct < 1e3", "100", True),
        ("steps.cpu.outputs.pct == 93", "ninety", False),
        ("steps.cpu.outputs.pct > 80", None, False),
        ("steps.cpu.outputs.pct < 80", None, False),
        ("steps.cpu.outputs.pct == null", None, True),
        ('steps.cpu.outputs.pct > "80"', "100", True),  # both numeric text: as numbers
        ("steps.cpu.outputs.pct > -5", "-2", True),
    ],
)
def test_numeric_text_from_outputs_compares_as_a_number(
    text: str, value: Any, expected: bool
) -> None:
    assert evaluate(text, steps__cpu__outputs__pct=value) is expected


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("vars.ok == true", "true", True),
        ("vars.ok == true", "True", True),
        ("vars.ok == false", "false", True),
        ("vars.ok == true", "false", False),
        ("vars.ok == true", True, True),
        ("vars.ok == true", 1, False),
        ("vars.ok != false", "yes", True),
    ],
)
def test_true_and_false_text_equal_the_booleans(text: str, value: Any, expected: bool) -> None:
    assert evaluate(text, vars__ok=value) is expected


def test_text_that_is_not_numeric_compares_as_text() -> None:
    assert evaluate('vars.region < "us"', vars__region="eu") is True
    assert evaluate('vars.region == "eu"', vars__region="eu") is True
    assert evaluate('vars.region == "EU"', vars__region="eu") is False


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("vars.name > 80", "cannot compare the text 'web' with the number 80 using '>'"),
        ("vars.list < 3", "cannot compare a list with the number 3 using '<'"),
        ("vars.flag >= true", "cannot compare the boolean true with the boolean true"),
        ("3 in vars.count", "'in' needs a list or text on its right, got the number 7"),
    ],
)
def test_incomparable_values_raise_a_clear_error_at_the_operator(text: str, fragment: str) -> None:
    values = {"vars.name": "web", "vars.list": [1], "vars.flag": True, "vars.count": 7}
    expr = parse_expression(text)
    with pytest.raises(ExpressionError) as info:
        expr.evaluate(resolver(values))
    assert fragment in info.value.message
    assert text[info.value.offset :].startswith(("<", ">", "in"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('vars.region in ["eu", "us"]', True),
        ('vars.region in ["ap"]', False),
        ('vars.region not in ["ap"]', True),
        ('"u" in vars.region', True),
        ("vars.code in [1, 2, 3]", True),  # "2" from an output matches the number 2
        ('"stopped" in steps.stop.outputs.log', True),
        ("vars.region in steps.none.outputs.list", False),
        ("vars.region in []", False),
    ],
)
def test_membership_in_lists_and_text(text: str, expected: bool) -> None:
    values = {"vars.region": "eu", "vars.code": "2", "steps.stop.outputs.log": "web stopped\n"}
    assert parse_expression(text).evaluate(resolver(values)) is expected


def test_and_or_short_circuit_and_return_booleans() -> None:
    asked: list[Path] = []

    def resolve(path: Path) -> Any:
        asked.append(path)
        return {"vars.a": "yes", "vars.b": 0}.get(".".join(path))

    assert parse_expression("vars.b and vars.boom").evaluate(resolve) is False
    assert asked == [("vars", "b")]
    asked.clear()
    assert parse_expression("vars.a or vars.boom").evaluate(resolve) is True
    assert asked == [("vars", "a")]
    # A failing comparison on the right is never reached either.
    assert parse_expression('vars.b and vars.a > 80').evaluate(resolve) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # not binds looser than a comparison (as in Python): not (a == "x").
        ('not vars.a == "x"', False),
        ('not vars.a == "y"', True),
        # and binds tighter than or.
        ("true or false and false", True),
        ("(true or false) and false", False),
        # not binds tighter than and/or.
        ("not false and false", False),
        ("not (false and false)", True),
        ("not false or true and false", True),
        ('vars.a == "x" and vars.n > 1 or vars.n < 0', True),
        ('not not vars.a == "x"', True),
    ],
)
def test_precedence(text: str, expected: bool) -> None:
    assert evaluate(text, vars__a="x", vars__n=5) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False), (False, False), (0, False), (0.0, False), ("", False), ("false", False),
        ("0", False), ("FALSE", False), ([], False), (True, True), (1, True), ("no", True),
        ("true", True), ("00", True), ([0], True), (-1, True),
    ],
)
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


def test_literals() -> None:
    assert evaluate("42") == 42
    assert evaluate("-4.5") == -4.5
    assert evaluate(r"'it\'s'") == "it's"
    assert evaluate(r'"say \"hi\" \\ bye"') == 'say "hi" \\ bye'
    assert evaluate("null") is None
    assert evaluate("[1, 'a', [true]]") == [1, "a", [True]]


# --- parse errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment", "offset"),
    [
        ("vars.a and", "expected an operand after 'and'", 10),
        ("vars.a or or vars.b", "expected an operand after 'or', found 'or'", 10),
        ("vars.a = 1", "unknown operator '='; did you mean '=='?", 7),
        ("vars.a ! 1", "unknown operator '!'; did you mean '!=' or 'not'?", 7),
        ("vars.a && vars.b", "did you mean 'and'?", 7),
        ("vars.a || vars.b", "did you mean 'or'?", 7),
        ('vars.a == "eu', "unterminated string", 10),
        ("vars.a == 'eu", "unterminated string", 10),
        ("(vars.a == 1", "expected ')' to close the '(' at column 1", 12),
        ("vars.a == 1)", "unexpected ')' with no matching '('", 11),
        ("[1, 2", "expected ',' or ']'", 5),
        ("vars.a vars.b", "found 'vars.b'", 7),
        ("1 < vars.a < 3", "comparisons cannot be chained", 11),
        ("vars.", "expected a name after 'vars.'", 5),
        ("vars..x", "expected a name after 'vars.'", 5),
        ("80abc", "invalid number '80abc'", 0),
        ("True", "write 'true'", 0),
        ("vars.a == None", "write 'null'", 10),
        ("vars.a == $x", "unexpected character '$'", 10),
        ("", "expression is empty", 0),
        ("not", "expected an operand after 'not'", 3),
        ("== 1", "expected an operand at the start", 0),
    ],
)
def test_parse_errors_say_what_was_expected_and_where(
    text: str, fragment: str, offset: int
) -> None:
    error = error_of(text)
    assert fragment in error.message
    assert error.offset == offset
    assert str(error) == error.message


def test_python_code_is_a_parse_error_and_never_runs(tmp_path: FsPath) -> None:
    target = tmp_path / "x"
    for text in (
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w')",
        f"[c for c in ().__class__.__bases__] or __import__('os').system('touch {target}')",
        f"vars.a; __import__('os').system('touch {target}')",
        f"lambda: __import__('os').system('touch {target}')",
    ):
        with pytest.raises(ExpressionError):
            parse_expression(text)
    assert not target.exists()


def test_call_syntax_is_reported_at_the_parenthesis() -> None:
    error = error_of("__import__('os').system('touch /tmp/x')")
    assert error.message == "unexpected '(': expressions cannot call functions"
    assert error.offset == len("__import__")


@pytest.mark.parametrize(
    "bomb",
    [
        "(" * 100_000,
        "not " * 100_000 + "true",
        "(" * (MAX_DEPTH + 1) + "true" + ")" * (MAX_DEPTH + 1),
        "[" * (MAX_DEPTH + 1),
        "not " * (MAX_DEPTH + 1) + "true",
        "vars.a or " * 1000 + "true",
    ],
)
def test_nesting_and_length_bombs_fail_fast_with_an_expression_error(bomb: str) -> None:
    started = time.perf_counter()
    error = error_of(bomb)
    assert time.perf_counter() - started < 0.5
    assert ("deeper than" in error.message) or ("longer than" in error.message)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    text = "(" * MAX_DEPTH + "vars.a" + ")" * MAX_DEPTH
    assert len(text) <= MAX_LENGTH
    assert evaluate(text, vars__a=3) == 3


def test_a_non_text_expression_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="must be text, got the boolean true"):
        parse_expression(True)  # type: ignore[arg-type]


def test_parse_path() -> None:
    assert parse_path(" steps.stop-app.outputs.pid ") == ("steps", "stop-app", "outputs", "pid")
    with pytest.raises(ExpressionError) as info:
        parse_path(" vars.a + 1")
    assert info.value.offset == 1


_PIECES = [*"()[],.=!<>&|'\"\\ -_09aAz\né١", " and ", " or ", " not ", " in ", "vars.x", "true"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_any_text_either_parses_or_raises_an_expression_error(text: str) -> None:
    try:
        expr = parse_expression(text)
    except ExpressionError as error:
        assert 0 <= error.offset <= len(text)
        return
    try:
        expr.evaluate(lambda path: "1")
    except ExpressionError as error:
        assert 0 <= error.offset <= len(text)
