"""What people say (POLICY.md §9.3), in both languages, through Interpreter.parse: every
answer form the policy names becomes the value it means, or a hint that asks again."""

from __future__ import annotations

from typing import Any

import pytest

from rules.answers import Accepted, Interpreter, Rejected
from rules.fields import CHECKLIST
from rules.models import Lang
from rules.ruleset import RuleSet


@pytest.fixture(scope="module")
def interpreter(rules: RuleSet) -> Interpreter:
    return Interpreter(rules)


def accepted(interpreter: Interpreter, field: str, text: str, lang: Lang) -> Accepted:
    parsed = interpreter.parse(field, text, lang)
    assert isinstance(parsed, Accepted), (field, text, parsed)
    return parsed


UNSURE = [
    ("vet inte", "sv"),
    ("Vet inte", "sv"),
    ("jag vet inte", "sv"),
    ("vet ej", "sv"),
    ("osäker", "sv"),
    ("ingen aning", "sv"),
    ("don't know", "en"),
    ("I don't know", "en"),
    ("dont know", "en"),
    ("not sure", "en"),
    ("I'm not sure", "en"),
    ("no idea", "en"),
]
# "Vet inte" where not knowing is not having done it: False, shown as "Vet inte".
AS_NOT_DONE = ["digital_alternative", "equality_considered", "eu_funding_checked", "in_annual_plan"]


@pytest.mark.parametrize("field", AS_NOT_DONE)
@pytest.mark.parametrize(("text", "lang"), UNSURE)
def test_dont_know_is_no_where_not_knowing_is_not_having_done_it(
    interpreter: Interpreter, field: str, text: str, lang: Lang
) -> None:
    answer = accepted(interpreter, field, text, lang)
    assert answer.value is False
    assert answer.label == interpreter.rules.text("choice.unsure", lang)


@pytest.mark.parametrize(("text", "lang"), UNSURE)
def test_dont_know_whether_presence_is_needed_is_unsure(
    interpreter: Interpreter, text: str, lang: Lang
) -> None:
    assert accepted(interpreter, "physical_necessary", text, lang).value == "unsure"


@pytest.mark.parametrize("field", CHECKLIST)
@pytest.mark.parametrize(("text", "lang"), UNSURE)
def test_dont_know_to_a_checklist_question_explains_it_and_asks_again(
    interpreter: Interpreter, field: str, text: str, lang: Lang
) -> None:
    parsed = interpreter.parse(field, text, lang)
    assert parsed == Rejected(f"hint.unsure.{field}")
    explanation = interpreter.rules.text(parsed.hint, lang)
    assert explanation != interpreter.rules.text("hint.yes_no", lang)


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("field", CHECKLIST)
def test_each_checklist_question_has_its_own_explanation(
    interpreter: Interpreter, field: str, lang: Lang
) -> None:
    others = {interpreter.rules.text(f"hint.unsure.{f}", lang) for f in CHECKLIST if f != field}
    assert interpreter.rules.text(f"hint.unsure.{field}", lang) not in others


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ok", "sv"),
        ("OK!", "sv"),
        ("okej", "sv"),
        ("självklart", "sv"),
        ("absolut", "sv"),
        ("japp", "sv"),
        ("jajamän", "sv"),
        ("javisst", "sv"),
        ("ja tack", "sv"),
        ("självklart, det gör det", "sv"),
        ("ok", "en"),
        ("okay", "en"),
        ("absolutely", "en"),
        ("sure", "en"),
        ("of course", "en"),
        ("yes please", "en"),
        ("definitely", "en"),
        ("yep", "en"),
    ],
)
def test_yes_words(interpreter: Interpreter, text: str, lang: Lang) -> None:
    assert accepted(interpreter, "influence", text, lang).value is True
    assert accepted(interpreter, "physical_necessary", text, lang).value == "yes"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("nej", "sv"), ("nej tack", "sv"), ("inte riktigt", "sv"), ("no", "en"), ("no thanks", "en")],
)
def test_no_words(interpreter: Interpreter, text: str, lang: Lang) -> None:
    assert accepted(interpreter, "influence", text, lang).value is False


@pytest.mark.parametrize(
    ("text", "lang", "kind"),
    [
        ("studieresa", "sv", "trip"),
        ("tjänsteresa", "sv", "trip"),
        ("tjansteresa", "sv", "trip"),
        ("en studieresa till Bologna", "sv", "trip"),
        ("studiebesök", "sv", "activity"),
        ("kongress", "sv", "activity"),
        ("konferens", "sv", "activity"),
        ("mässa", "sv", "activity"),
        ("delegationsbesök", "sv", "activity"),
        ("elevutbyte", "sv", "activity"),
        ("utbyte", "sv", "activity"),
        ("möte", "sv", "activity"),
        ("styrelsemöte", "sv", "activity"),
        ("workshop", "sv", "activity"),
        ("seminarium", "sv", "activity"),
        ("webbinarium", "sv", "activity"),
        ("ett styrelsemöte i UBC", "sv", "activity"),
        ("EU-projekt", "sv", "project"),
        ("Interreg-projekt", "sv", "project"),
        ("ett Interreg-projekt om turism", "sv", "project"),
        ("study trip", "en", "trip"),
        ("business trip", "en", "trip"),
        ("a study trip to Bologna", "en", "trip"),
        ("study visit", "en", "activity"),
        ("congress", "en", "activity"),
        ("conference", "en", "activity"),
        ("fair", "en", "activity"),
        ("a trade fair in Hamburg", "en", "activity"),
        ("delegation visit", "en", "activity"),
        ("exchange", "en", "activity"),
        ("meeting", "en", "activity"),
        ("board meeting", "en", "activity"),
        ("workshop", "en", "activity"),
        ("seminar", "en", "activity"),
        ("webinar", "en", "activity"),
        ("EU project", "en", "project"),
        ("Interreg project", "en", "project"),
        ("an EU project on hydrogen", "en", "project"),
    ],
)
def test_the_plans_words_for_kinds(
    interpreter: Interpreter, text: str, lang: Lang, kind: str
) -> None:
    assert accepted(interpreter, "kind", text, lang).value == kind


@pytest.mark.parametrize(
    ("text", "lang"), [("en resa till en konferens", "sv"), ("a trip to a conference", "en")]
)
def test_two_kinds_in_one_answer_ask_again(interpreter: Interpreter, text: str, lang: Lang) -> None:
    assert interpreter.parse("kind", text, lang) == Rejected("hint.kind")


@pytest.mark.parametrize(
    ("text", "lang", "goals"),
    [
        ("fem och åtta", "sv", [5, 8]),
        ("5 och 8", "sv", [5, 8]),
        ("1–3", "sv", [1, 2, 3]),
        ("1-3", "sv", [1, 2, 3]),
        ("1 – 3 och 8", "sv", [1, 2, 3, 8]),
        ("ett, fem och åtta", "sv", [1, 5, 8]),
        ("five and eight", "en", [5, 8]),
        ("5 and 8", "en", [5, 8]),
        ("1-3", "en", [1, 2, 3]),
        ("two, five and nine", "en", [2, 5, 9]),
    ],
)
def test_goals_as_people_write_them(
    interpreter: Interpreter, text: str, lang: Lang, goals: list[int]
) -> None:
    assert accepted(interpreter, "goals", text, lang).value == goals


def test_a_number_word_in_a_sentence_is_not_a_goal(interpreter: Interpreter) -> None:
    # "ett aktivt liv" names goal 3; its "ett" is not goal 1.
    assert accepted(interpreter, "goals", "ett aktivt liv", "sv").value == [3]


@pytest.mark.parametrize("text", ["5–12", "0-3", "fem och tio"])
def test_goals_that_are_not_one_to_nine(interpreter: Interpreter, text: str) -> None:
    assert interpreter.parse("goals", text, "sv") == Rejected("hint.goals")


@pytest.mark.parametrize(
    ("text", "lang", "count"),
    [
        ("jag och en kollega", "sv", 2),
        ("Jag och en kollega", "sv", 2),
        ("vi är tre", "sv", 3),
        ("vi är 3", "sv", 3),
        ("två personer", "sv", 2),
        ("3 personer", "sv", 3),
        ("jag och två kollegor", "sv", 3),
        ("bara jag", "sv", 1),
        ("jag", "sv", 1),
        ("ca 4", "sv", 4),
        ("me and a colleague", "en", 2),
        ("a colleague and I", "en", 2),
        ("me and two colleagues", "en", 3),
        ("we are three", "en", 3),
        ("three of us", "en", 3),
        ("two people", "en", 2),
        ("just me", "en", 1),
        ("12", "en", 12),
    ],
)
def test_travellers_as_people_write_them(
    interpreter: Interpreter, text: str, lang: Lang, count: int
) -> None:
    assert accepted(interpreter, "travellers", text, lang).value == count


@pytest.mark.parametrize(
    "text", ["10 000", "10\u00a0000", "10\u202f000", "10,000", "10.000", "2 500"]
)
def test_ten_thousand_is_ten_thousand_and_too_many(interpreter: Interpreter, text: str) -> None:
    for lang in ("sv", "en"):
        assert interpreter.parse("travellers", text, lang) == Rejected("hint.travellers_too_many")


@pytest.mark.parametrize("text", ["tre eller fyra", "5 och 8", "jag och Anna", "0", "-2", "many"])
def test_what_is_not_a_count_asks_again(interpreter: Interpreter, text: str) -> None:
    assert interpreter.parse("travellers", text, "sv") == Rejected("hint.travellers")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("SERN och UBC", ["sern", "ubc"]),
        ("SERN and UBC", ["sern", "ubc"]),
        ("SERN, UBC", ["sern", "ubc"]),
        ("SERN & UBC", ["sern", "ubc"]),
        ("SERN/UBC", ["sern", "ubc"]),
        ("SERN–UBC", ["sern", "ubc"]),
        ("UBC, SERN och Kemi", ["ubc", "sern", "kemi"]),
        ("Zenika och SERN", ["zenica", "sern"]),
        ("Luleå Business Region och Visit Stockholm", ["lulea_business_region", "visit_stockholm"]),
        ("LBR och Messe Hamburg", ["lulea_business_region"]),
        ("Göteborg & Co", ["goteborg_and_co"]),
        ("JOIN, BOOST, SUSTAIN", ["join_boost_sustain"]),
        ("UiT i Tromsø", ["uit"]),
        ("Arktiska rådet i Tromsö", ["arctic_council"]),
        ("Messe Hamburg", []),
    ],
)
def test_every_partner_named_is_found(
    interpreter: Interpreter, text: str, named: list[str]
) -> None:
    assert interpreter.partners_in(text, "sv") == named


@pytest.mark.parametrize(("text", "lang"), [("SERN och UBC", "sv"), ("SERN and UBC", "en")])
def test_several_partners_are_each_an_option_and_none_is_dropped(
    interpreter: Interpreter, text: str, lang: Lang
) -> None:
    from rules.answers import Ambiguous

    parsed = interpreter.parse("partner", text, lang)
    assert isinstance(parsed, Ambiguous)
    assert [o.value for o in parsed.options] == ["sern", "ubc"]
    assert [o.answer.value for o in parsed.options] == [
        {"id": "sern", "text": text, "others": ("ubc",)},
        {"id": "ubc", "text": text, "others": ("sern",)},
    ]
    assert parsed.typed.value == {"id": None, "text": text}


@pytest.mark.parametrize(
    ("text", "partner"),
    [("SERN", "sern"), ("LBR och Messe Hamburg", "lulea_business_region"), ("UiT i Tromsø", "uit")],
)
def test_one_partner_named_is_that_partner(
    interpreter: Interpreter, text: str, partner: str
) -> None:
    assert accepted(interpreter, "partner", text, "sv").value == {"id": partner, "text": text}


def test_the_parsed_values_are_what_a_check_takes(interpreter: Interpreter) -> None:
    from rules.check import check_from_answers

    answers: dict[str, Any] = {
        field: accepted(interpreter, field, text, "sv").value
        for field, text in [
            ("kind", "en studieresa till Bologna"),
            ("title", "SERN-möte"),
            ("department", "Kommunstaben"),
            ("partner", "SERN"),
            ("contributes_development", "självklart"),
            ("external_monitoring", "ok"),
            ("influence", "nej"),
            ("goals", "fem och åtta"),
            ("physical_necessary", "vet inte"),
            ("digital_alternative", "vet inte"),
            ("travellers", "jag och en kollega"),
            ("travel_mode", "tåg"),
            ("equality_considered", "vet inte"),
            ("in_annual_plan", "vet ej"),
        ]
    }
    check = check_from_answers(answers)
    assert check.travellers == 2 and check.goals == (5, 8)
    assert check.digital_alternative is False and check.equality_considered is False


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("ja, spara", "yes"),
        ("självklart", "yes"),
        ("sure", "yes"),
        ("I'm not sure", "unsure"),
        ("vet ej", "unsure"),
        ("nej tack", "no"),
        ("Bologna", None),
    ],
)
def test_answer_word_reads_yes_no_or_unsure_in_a_longer_answer(
    interpreter: Interpreter, text: str, word: str | None
) -> None:
    assert interpreter.answer_word(text) == word
