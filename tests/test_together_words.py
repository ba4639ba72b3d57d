"""The words of answers that settle several questions at once (rules/answers.py), table by
table in both languages: what a presence answer says of the digital option, what a tick list
answer ticks, and that the vocabulary names only fields of a tick list."""

from __future__ import annotations

import pytest

from rules.answers import Accepted, Interpreter, Rejected
from rules.fields import FIELD, GROUPS
from rules.models import Lang
from rules.ruleset import RuleSet

TRIP = ("equality_considered", "in_annual_plan")
PROJECT = GROUPS["prepared"]


@pytest.fixture
def interpreter(rules: RuleSet) -> Interpreter:
    return Interpreter(rules)


@pytest.mark.parametrize(
    ("typed", "digital"),
    [
        ("nej", None),
        ("ja", None),
        ("nej, det går digitalt", True),
        ("nej, vi tar det på Teams", True),
        ("nej, det finns inget digitalt alternativ", False),
        ("nej, digitalt går inte", False),
        ("nej – ingen videolänk", False),
        ("no", None),
        ("no, online works", True),
        ("nope, a video call will do", True),
        ("no, there is no online option", False),
        ("no, Zoom isn't possible", False),
        ("not necessary, we can do it remotely", True),
    ],
)
def test_what_a_presence_answer_says_of_the_digital_option(
    interpreter: Interpreter, typed: str, digital: bool | None
) -> None:
    assert interpreter.digital_option(typed) is digital


@pytest.mark.parametrize(
    ("lang", "typed", "statements", "ticked"),
    [
        ("sv", "1, 2", TRIP, TRIP),
        ("sv", "alla", PROJECT, PROJECT),
        ("sv", "båda", TRIP, TRIP),
        ("sv", "ja", TRIP, TRIP),
        ("sv", "1 och 3", PROJECT, ("equality_considered", "in_annual_plan")),
        ("sv", "jämställdheten och EU-fonderna", PROJECT, PROJECT[:2]),
        ("sv", "bara årsplanen", TRIP, ("in_annual_plan",)),
        ("sv", "inget", TRIP, ()),
        ("sv", "nej", PROJECT, ()),
        ("sv", "vet inte", TRIP, ()),
        ("en", "1 and 2", TRIP, TRIP),
        ("en", "all of them", PROJECT, PROJECT),
        ("en", "both", TRIP, TRIP),
        ("en", "equality", TRIP, ("equality_considered",)),
        ("en", "the annual plan and EU funds", PROJECT, PROJECT[1:]),
        ("en", "none", TRIP, ()),
        ("en", "don't know", PROJECT, ()),
    ],
)
def test_what_a_tick_list_answer_ticks(
    interpreter: Interpreter,
    lang: Lang,
    typed: str,
    statements: tuple[str, ...],
    ticked: tuple[str, ...],
) -> None:
    parsed = interpreter.ticks(typed, lang, statements)
    assert isinstance(parsed, Accepted) and tuple(parsed.value) == ticked


@pytest.mark.parametrize(
    ("lang", "typed", "statements"),
    [("sv", "3", TRIP), ("sv", "lila", TRIP), ("en", "0", PROJECT), ("en", "purple", TRIP)],
)
def test_a_tick_list_answer_not_understood_is_rejected_with_a_hint(
    interpreter: Interpreter, lang: Lang, typed: str, statements: tuple[str, ...]
) -> None:
    assert interpreter.ticks(typed, lang, statements) == Rejected("hint.prepared")


def test_the_vocabulary_names_only_statements_of_a_tick_list(rules: RuleSet) -> None:
    named = set(rules.vocabulary.together.statements)
    assert named == {name for group in GROUPS.values() for name in group}
    assert all(FIELD[name].answer == "yes_no" for name in named)
    for group in GROUPS:
        for lang in ("sv", "en"):
            assert rules.text(f"q.{group}", lang, statements="")
            assert rules.text(f"explain.{group}", lang)
