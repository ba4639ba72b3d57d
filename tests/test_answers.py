"""Typed answers in Swedish and English become field values."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rules.answers import Accepted, Ambiguous, Interpreter, Rejected
from rules.ruleset import RuleSet


@pytest.fixture
def interpreter(rules: RuleSet) -> Interpreter:
    return Interpreter(rules)


def value(interpreter: Interpreter, field: str, text: str) -> Any:
    parsed = interpreter.parse(field, text, "sv")
    assert isinstance(parsed, Accepted), parsed
    return parsed.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ja", True),
        ("Ja!", True),
        ("yes", True),
        ("y", True),
        ("nej", False),
        ("No", False),
        ("nope", False),
        ("ja, det gör den", True),
    ],
)
def test_yes_and_no_in_both_languages(interpreter: Interpreter, text: str, expected: bool) -> None:
    assert value(interpreter, "influence", text) is expected


def test_dont_know_means_unsure_no_or_ask_again_by_question(interpreter: Interpreter) -> None:
    # The whole table is in test_words.py; one of each here.
    assert value(interpreter, "physical_necessary", "vet inte") == "unsure"
    assert value(interpreter, "digital_alternative", "not sure") is False
    assert interpreter.parse("influence", "vet inte", "sv") == Rejected("hint.unsure.influence")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("I'm not sure", "unsure"), ("sure", "yes"), ("not really", "no"), ("really", None)],
)
def test_the_longest_phrase_decides(interpreter: Interpreter, text: str, expected: str) -> None:
    parsed = interpreter.parse("physical_necessary", text, "en")
    if expected is None:
        assert parsed == Rejected("hint.presence")
    else:
        assert isinstance(parsed, Accepted) and parsed.value == expected


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("flyg", "flight"),
        ("flight", "flight"),
        ("tåg", "train"),
        ("vi tar nattåget", None),
        ("nattåg", "train"),
        ("train", "train"),
        ("buss", "bus"),
        ("coach", "bus"),
        ("bil", "car"),
        ("färja", "ferry"),
        ("ferry", "ferry"),
    ],
)
def test_travel_modes(interpreter: Interpreter, text: str, mode: str | None) -> None:
    parsed = interpreter.parse("travel_mode", text, "en")
    if mode is None:
        assert isinstance(parsed, Rejected)
    else:
        assert isinstance(parsed, Accepted) and parsed.value == mode


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("resa", "trip"),
        ("trip", "trip"),
        ("projekt", "project"),
        ("EU-projekt", "project"),
        ("aktivitet", "activity"),
        ("konferens", "activity"),
        ("activity", "activity"),
    ],
)
def test_kinds(interpreter: Interpreter, text: str, kind: str) -> None:
    assert value(interpreter, "kind", text) == kind


@pytest.mark.parametrize(
    ("text", "goals"),
    [
        ("5, 8", [5, 8]),
        ("8", [8]),
        ("5 och 8", [5, 8]),
        ("klimat", [5]),
        ("growth", [8]),
        ("klimat och tillväxt", [5, 8]),
        ("growth, jobs", [8, 9]),
        ("2 9", [2, 9]),
        ("inga", []),
        ("none", []),
    ],
)
def test_goals_take_numbers_words_or_none(
    interpreter: Interpreter, text: str, goals: list[int]
) -> None:
    assert value(interpreter, "goals", text) == goals


@pytest.mark.parametrize("text", ["10", "0", "blue", "5, 12"])
def test_goals_outside_one_to_nine_are_rejected(interpreter: Interpreter, text: str) -> None:
    assert interpreter.parse("goals", text, "sv") == Rejected("hint.goals")


@pytest.mark.parametrize(("text", "count"), [("2", 2), ("två", 2), ("three", 3), ("3 personer", 3)])
def test_travellers(interpreter: Interpreter, text: str, count: int) -> None:
    assert value(interpreter, "travellers", text) == count


@pytest.mark.parametrize("text", ["0", "-1", "många", "100000", "3 eller 4", "1,5"])
def test_bad_traveller_counts_are_rejected(interpreter: Interpreter, text: str) -> None:
    assert isinstance(interpreter.parse("travellers", text, "sv"), Rejected)


@pytest.mark.parametrize("text", ["ingen", "none", "Inga", "-"])
def test_no_partner(interpreter: Interpreter, text: str) -> None:
    assert value(interpreter, "partner", text) == {"id": None, "text": ""}


def test_an_unlisted_partner_is_kept_as_typed(interpreter: Interpreter) -> None:
    assert value(interpreter, "partner", "Reykjavíkurborg") == {
        "id": None,
        "text": "Reykjavíkurborg",
    }


def test_an_uncertain_partner_offers_candidates_and_the_typed_text(
    interpreter: Interpreter,
) -> None:
    parsed = interpreter.parse("partner", "Bothnian", "en")
    assert isinstance(parsed, Ambiguous)
    assert parsed.typed.value == {"id": None, "text": "Bothnian"}
    assert {o.value for o in parsed.options} >= {"bothnian_arc", "bothnian_coastal_route"}


@pytest.mark.parametrize("text", ["", "   ", "!!!", "x" * 250])
def test_titles_need_letters_and_a_sane_length(interpreter: Interpreter, text: str) -> None:
    assert isinstance(interpreter.parse("title", text, "sv"), Rejected)


def test_a_reading_is_reused_only_for_the_same_question_text_and_day(
    interpreter: Interpreter,
) -> None:
    """The last reading is kept for a second read in the same turn; another day, question
    or language reads the text again."""
    winter = interpreter.parse("when", "12 mars", "sv", date(2026, 1, 10))
    assert interpreter.parse("when", "12 mars", "sv", date(2026, 1, 10)) is winter
    summer = interpreter.parse("when", "12 mars", "sv", date(2026, 6, 1))
    assert isinstance(winter, Accepted) and isinstance(summer, Accepted)
    assert winter.value["start"] == "2026-03-12" and summer.value["start"] == "2027-03-12"
    assert interpreter.parse("travellers", "12 mars", "sv", date(2026, 6, 1)) == Accepted(12, "12")
    english = interpreter.parse("when", "12 mars", "en", date(2026, 1, 10))
    assert isinstance(english, Accepted) and english.label != winter.label
