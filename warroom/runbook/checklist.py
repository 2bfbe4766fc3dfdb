"""The seed's decision checklist: six yes/no questions that say which recovery model fits a team.

A commander choosing between `mode: linear`, `phases:` and `mode: parallel` for a new runbook
wants the answer the seed document gives, with its reasons, not a guess; the scoring rule lives
here so the CLI and any other front end give the same verdict for the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True)
class Question:
    key: str  # flag-friendly: `team_size` becomes `--team-size`
    text: str
    parallel_answer: bool  # the answer that favors parallel recovery
    why_yes: str
    why_no: str


class Recommendation(str, Enum):
    SEQUENTIAL = "sequential"
    HYBRID = "hybrid"
    PARALLEL = "parallel"


@dataclass(frozen=True)
class Verdict:
    score: int  # how many answers favor parallel
    recommendation: Recommendation
    explanation: tuple[str, ...]


QUESTIONS: tuple[Question, ...] = (
    Question(
        key="team_size",
        text="Team size: is your team large enough (3+ people) to assign distinct roles "
        "during an incident?",
        parallel_answer=True,
        why_yes="favor parallel: there are enough people for distinct roles",
        why_no="favor sequential: too few people to run threads at once",
    ),
    Question(
        key="interdependence",
        text="Interdependence: are most recovery actions independent of each other?",
        parallel_answer=True,
        why_yes="favor parallel: independent actions can run at the same time",
        why_no="favor sequential: each action needs the one before it",
    ),
    Question(
        key="tooling",
        text="Tooling maturity: do you have automation and monitoring tools that support "
        "concurrent execution?",
        parallel_answer=True,
        why_yes="favor parallel: the tools can run and watch concurrent work",
        why_no="start with hybrid: the tools cannot yet support concurrent work",
    ),
    Question(
        key="criticality",
        text="Criticality of service: is the service business-critical with a high cost per "
        "minute of downtime?",
        parallel_answer=True,
        why_yes="favor parallel: every minute saved is worth the coordination",
        why_no="sequential may suffice: downtime is cheap enough to go step by step",
    ),
    Question(
        key="experience",
        text="Team experience: has the team practiced parallel workflows in drills?",
        parallel_answer=True,
        why_yes="confident for parallel: the team has drilled it",
        why_no="train first or use sequential: the team has not drilled parallel work",
    ),
    Question(
        key="regulatory",
        text="Regulatory requirements: do regulations mandate a strict audit trail for every "
        "change?",
        parallel_answer=False,
        why_yes="sequential may be safer: auditors want one clear sequence",
        why_no="parallel with logging still works: no mandated sequence",
    ),
)

_BY_KEY = {q.key: q for q in QUESTIONS}

_ADVICE = {
    Recommendation.PARALLEL: "a full parallel workflow is likely beneficial (runbook: "
    "mode: parallel)",
    Recommendation.HYBRID: "parallelize the investigation, keep remediation sequential "
    "(runbook: phases)",
    Recommendation.SEQUENTIAL: "stick with sequential stages for now and build capability "
    "gradually (runbook: mode: linear)",
}

_YES = frozenset({"y", "yes"})
_NO = frozenset({"n", "no"})


def _unknown_keys(answers: Mapping[str, bool]) -> None:
    unknown = sorted(set(answers) - set(_BY_KEY))
    if unknown:
        known = ", ".join(_BY_KEY)
        raise ValueError(f"unknown checklist question {', '.join(unknown)} (known: {known})")


def recommend(score: int) -> Recommendation:
    """The seed's scoring: 4+ parallel, 2-3 hybrid, 0-1 sequential."""
    if score >= 4:
        return Recommendation.PARALLEL
    if score >= 2:
        return Recommendation.HYBRID
    return Recommendation.SEQUENTIAL


def score(answers: Mapping[str, bool]) -> Verdict:
    """Score a full set of answers; a missing or unknown question is a ValueError."""
    _unknown_keys(answers)
    missing = [q.key for q in QUESTIONS if q.key not in answers]
    if missing:
        raise ValueError(f"unanswered checklist question {', '.join(missing)}")
    lines: list[str] = []
    total = 0
    for q in QUESTIONS:
        answer = answers[q.key]
        if not isinstance(answer, bool):
            raise ValueError(f"checklist answer for {q.key} must be yes or no, got {answer!r}")
        favors = answer == q.parallel_answer
        total += favors
        mark = "+" if favors else "-"
        reason = q.why_yes if answer else q.why_no
        lines.append(f"{mark} {q.key}: {'yes' if answer else 'no'} ({reason})")
    recommendation = recommend(total)
    lines.append(f"{total} of {len(QUESTIONS)} answers favor parallel: {_ADVICE[recommendation]}")
    return Verdict(score=total, recommendation=recommendation, explanation=tuple(lines))


def parse_answer(text: str) -> bool | None:
    """y/yes/n/no in any case; anything else is None."""
    word = text.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def ask(
    read_line: Callable[[str], str],
    write: Callable[[str], None],
    given: Mapping[str, bool],
) -> Verdict:
    """Ask the questions not already answered in `given`, then score.

    `read_line` behaves like `input`: it shows a prompt, returns the line, and raises EOFError
    when input ends; that EOFError reaches the caller so it can stop cleanly.
    """
    _unknown_keys(given)
    answers = dict(given)
    for q in QUESTIONS:
        while q.key not in answers:
            answer = parse_answer(read_line(f"{q.text} [y/n] "))
            if answer is None:
                write("Please answer y, yes, n or no.")
            else:
                answers[q.key] = answer
    return score(answers)


def render(verdict: Verdict) -> str:
    return "\n".join(
        (f"Recommendation: {verdict.recommendation.value} (score {verdict.score}/{len(QUESTIONS)})",)
        + verdict.explanation
    )
