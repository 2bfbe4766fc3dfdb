"""The decision checklist gives the seed's verdict for every score and asks like a person would."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from warroom.runbook.checklist import (
    QUESTIONS,
    Recommendation,
    Verdict,
    ask,
    render,
    score,
)


def answers_with(favoring: int) -> dict[str, bool]:
    """Answers where exactly the first `favoring` questions favor parallel."""
    return {
        q.key: q.parallel_answer if i < favoring else not q.parallel_answer
        for i, q in enumerate(QUESTIONS)
    }


def scripted(lines: list[str]) -> tuple[list[str], Callable[[str], str]]:
    prompts: list[str] = []
    remaining = list(lines)

    def read_line(prompt: str) -> str:
        prompts.append(prompt)
        if not remaining:
            raise EOFError
        return remaining.pop(0)

    return prompts, read_line


def test_the_six_questions_are_the_seeds() -> None:
    assert [q.key for q in QUESTIONS] == [
        "team_size",
        "interdependence",
        "tooling",
        "criticality",
        "experience",
        "regulatory",
    ]
    assert all(q.key.isidentifier() and q.key.islower() for q in QUESTIONS)
    assert "3+ people" in QUESTIONS[0].text
    assert "audit trail" in QUESTIONS[-1].text


@pytest.mark.parametrize(
    ("favoring", "expected"),
    [
        (0, Recommendation.SEQUENTIAL),
        (1, Recommendation.SEQUENTIAL),
        (2, Recommendation.HYBRID),
        (3, Recommendation.HYBRID),
        (4, Recommendation.PARALLEL),
        (6, Recommendation.PARALLEL),
    ],
)
def test_scoring_boundaries(favoring: int, expected: Recommendation) -> None:
    verdict = score(answers_with(favoring))
    assert verdict.score == favoring
    assert verdict.recommendation is expected


def test_regulation_yes_favors_sequential_and_no_favors_parallel() -> None:
    all_yes = {q.key: True for q in QUESTIONS}
    assert score(all_yes).score == 5
    assert score({**all_yes, "regulatory": False}).score == 6
    all_no = {q.key: False for q in QUESTIONS}
    verdict = score(all_no)
    assert verdict.score == 1
    assert verdict.recommendation is Recommendation.SEQUENTIAL
    assert any(line.startswith("+ regulatory: no") for line in verdict.explanation)


def test_hybrid_explanation_gives_the_seeds_advice() -> None:
    verdict = score(answers_with(3))
    assert "parallelize the investigation, keep remediation sequential" in verdict.explanation[-1]
    text = render(verdict)
    assert text.splitlines()[0] == "Recommendation: hybrid (score 3/6)"
    assert "start with hybrid" not in text  # tooling was answered the parallel way
    assert "- regulatory: yes (sequential may be safer" in text  # answered the sequential way


def test_explanation_has_one_line_per_question_with_its_reason() -> None:
    verdict = score(answers_with(0))
    per_question = verdict.explanation[:-1]
    assert len(per_question) == len(QUESTIONS)
    assert per_question[2] == (
        "- tooling: no (start with hybrid: the tools cannot yet support concurrent work)"
    )


def test_score_refuses_missing_unknown_and_non_boolean_answers() -> None:
    full = answers_with(2)
    with pytest.raises(ValueError, match="unanswered checklist question criticality"):
        score({k: v for k, v in full.items() if k != "criticality"})
    with pytest.raises(ValueError, match="unknown checklist question budget"):
        score({**full, "budget": True})
    with pytest.raises(ValueError, match="must be yes or no"):
        score({**full, "regulatory": "no"})


def test_ask_accepts_yes_no_in_any_case_and_reasks_after_a_bad_answer() -> None:
    prompts, read_line = scripted(["YES", "maybe", " n ", "y", "No", "yes", "n"])
    written: list[str] = []
    verdict = ask(read_line, written.append, given={})
    assert isinstance(verdict, Verdict)
    # team_size yes, independence no (after "maybe"), tooling yes, criticality no,
    # team_experience yes, regulatory no -> 4 favor parallel.
    assert verdict.score == 4
    assert verdict.recommendation is Recommendation.PARALLEL
    assert written == ["Please answer y, yes, n or no."]
    assert len(prompts) == 7
    assert prompts[1] == prompts[2]  # the interdependence question was asked again
    assert prompts[1].startswith("Interdependence:") and prompts[1].endswith("[y/n] ")


def test_ask_only_asks_what_was_not_given() -> None:
    given = {q.key: True for q in QUESTIONS if q.key != "regulatory"}
    prompts, read_line = scripted(["yes"])
    verdict = ask(read_line, lambda _: None, given=given)
    assert len(prompts) == 1 and prompts[0].startswith("Regulatory requirements:")
    assert verdict.score == 5


def test_ask_with_everything_given_reads_nothing() -> None:
    prompts, read_line = scripted([])
    verdict = ask(read_line, lambda _: None, given=answers_with(0))
    assert prompts == []
    assert verdict.recommendation is Recommendation.SEQUENTIAL


def test_ask_raises_eoferror_when_input_ends() -> None:
    prompts, read_line = scripted(["y", "nope"])
    with pytest.raises(EOFError):
        ask(read_line, lambda _: None, given={})
    assert len(prompts) == 3


def test_ask_refuses_an_unknown_given_question() -> None:
    _, read_line = scripted([])
    with pytest.raises(ValueError, match="unknown checklist question"):
        ask(read_line, lambda _: None, given={"team-size": True})
