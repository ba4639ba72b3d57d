"""Say it in one sentence (issue 11): the first message fills every field the reader finds,
shows them back in one message with a way to correct them, and the check then asks only what
is missing. A sentence with nothing recognisable starts the ordinary check."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Engine
from rules.models import Lang
from rules.ruleset import RuleSet
from tests.conftest import Chat

# Whatever is still asked gets an ordinary answer, so the whole check runs to its decision.
ANSWERS: dict[str, dict[str, str]] = {
    "sv": {
        "kind": "resa",
        "title": "Resa",
        "department": "Kommunstaben",
        "partner": "ingen",
        "dormant_resumed": "nej",
        "destination": "Uleåborg",
        "guests_from": "Uleåborg",
        "when": "vet inte",
        "contributes_development": "ja",
        "external_monitoring": "ja",
        "influence": "ja",
        "goals": "8",
        "physical_necessary": "ja",
        "digital_alternative": "nej",
        "travellers": "2",
        "travel_mode": "flyg",
        "equality_considered": "ja",
        "eu_funding_checked": "ja",
        "in_annual_plan": "ja",
        "prepared": "alla",
        "motivation": "Det är viktigt för näringslivet i Luleå.",
    },
    "en": {
        "kind": "trip",
        "title": "Trip",
        "department": "Kommunstaben",
        "partner": "none",
        "dormant_resumed": "no",
        "destination": "Oulu",
        "guests_from": "Oulu",
        "when": "don't know",
        "contributes_development": "yes",
        "external_monitoring": "yes",
        "influence": "yes",
        "goals": "8",
        "physical_necessary": "yes",
        "digital_alternative": "no",
        "travellers": "2",
        "travel_mode": "flight",
        "equality_considered": "yes",
        "eu_funding_checked": "yes",
        "in_annual_plan": "yes",
        "prepared": "all",
        "motivation": "It matters for Luleå's businesses.",
    },
}
KIND_TRAVEL = ("kind", "title", "partner", "destination")

# (language, the first message, what must be picked out (field → value, None: any value),
# the question asked next).
OPENERS: list[tuple[Lang, str, dict[str, Any], str]] = [
    (
        "sv",
        "Jag ska på Bottenviksbågens styrelsemöte i Uleåborg den 12 mars, vi är två och tänkte "
        "flyga",
        {"kind": "activity", "partner": None, "destination": None, "when": None}
        | {"travellers": 2, "travel_mode": "flight"},
        "department",
    ),
    (
        "sv",
        "Studieresa till Bologna med SERN i maj, vi är tre och åker tåg",
        {"kind": "trip", "partner": None, "destination": None, "when": None}
        | {"travellers": 3, "travel_mode": "train"},
        "department",
    ),
    (
        "sv",
        "Konferens i Tromsø nästa vecka, jag och en kollega tar tåget",
        {"kind": "activity", "destination": None, "when": None, "travellers": 2}
        | {"travel_mode": "train"},
        "department",
    ),
    (
        "sv",
        "Vänortsbesök i Zenica i oktober, vi är fyra",
        {"kind": "activity", "partner": None, "destination": None, "when": None}
        | {"travellers": 4},
        "department",
    ),
    (
        "sv",
        "Mässa i Tokyo den 3 november, vi flyger två personer",
        {"kind": "activity", "destination": None, "when": None, "travellers": 2},
        "department",
    ),
    (
        "sv",
        "Delegationsbesök från Uleåborg till Luleå i april",
        {"kind": "activity", "destination": None, "guests_from": None, "when": None},
        "department",
    ),
    (
        "sv",
        "Workshop med Bothnian Arc i Torneå, vi är fyra och tar bilen",
        {"kind": "activity", "partner": None, "destination": None, "travellers": 4}
        | {"travel_mode": "car"},
        "department",
    ),
    (
        "sv",
        "EU-projekt med UBC i Gdańsk",
        {"kind": "project", "partner": None, "destination": None},
        "department",
    ),
    (
        "sv",
        "Webbinarium med SERN på Teams den 5 februari",
        {"kind": "activity", "partner": None, "destination": None, "when": None},
        "department",
    ),
    (
        "sv",
        "Elevutbyte med Kemi i maj, vi är tolv och åker buss",
        {"kind": "activity", "partner": None, "when": None, "travellers": 12}
        | {"travel_mode": "bus"},
        "department",
    ),
    (
        "sv",
        "Interreg-projekt om turism i Vasa",
        {"kind": "project", "destination": None},
        "department",
    ),
    (
        "sv",
        "Tjänsteresa till Bryssel 2027-03-12, vi är två och flyger",
        {"kind": "trip", "destination": None, "when": None, "travellers": 2},
        "department",
    ),
    ("sv", "Seminarium i Oslo i juni", {"kind": "activity", "destination": None}, "department"),
    (
        "sv",
        "Kongress i Wien, vi blir fem",
        {"kind": "activity", "destination": None, "travellers": 5},
        "department",
    ),
    (
        "sv",
        "Resa till Santa Lucía de Tirajana i januari",
        {"kind": "trip", "partner": None, "destination": None, "when": None},
        "department",
    ),
    (
        "sv",
        "Studiebesök i Haparanda med bil",
        {"kind": "activity", "destination": None, "travel_mode": "car"},
        "department",
    ),
    (
        "sv",
        "Möte med Barents Road i Salla, vi är två",
        {"kind": "activity", "partner": None, "destination": None, "travellers": 2},
        "department",
    ),
    (
        "sv",
        "Resa till Finland i maj, vi tar bilen",
        {"kind": "trip", "destination": None, "when": None, "travel_mode": "car"},
        "department",
    ),
    (
        "en",
        "Study visit to Bologna with SERN in May, three of us by train",
        {"kind": "activity", "partner": None, "destination": None, "when": None}
        | {"travellers": 3, "travel_mode": "train"},
        "department",
    ),
    (
        "en",
        "Board meeting of the Bothnian Arc in Oulu on 12 March, two of us flying",
        {"kind": "activity", "partner": None, "destination": None, "when": None}
        | {"travellers": 2, "travel_mode": "flight"},
        "department",
    ),
    (
        "en",
        "Conference in Tromsø next week, we are two and take the train",
        {"kind": "activity", "destination": None, "when": None, "travellers": 2}
        | {"travel_mode": "train"},
        "department",
    ),
    (
        "en",
        "Trade fair in Tokyo on 3 November, two of us by plane",
        {"kind": "activity", "destination": None, "when": None, "travellers": 2}
        | {"travel_mode": "flight"},
        "department",
    ),
    (
        "en",
        "Twin city visit to Zenica in October",
        {"kind": "activity", "partner": None, "destination": None, "when": None},
        "department",
    ),
    (
        "en",
        "Workshop in Tornio with the Bothnian Arc, four of us by car",
        {"kind": "activity", "partner": None, "destination": None, "travellers": 4}
        | {"travel_mode": "car"},
        "department",
    ),
    (
        "en",
        "EU project with UBC in Gdansk",
        {"kind": "project", "partner": None, "destination": None},
        "department",
    ),
    (
        "en",
        "Webinar with SERN on Teams on 5 February",
        {"kind": "activity", "partner": None, "destination": None, "when": None},
        "department",
    ),
    (
        "en",
        "Pupil exchange with Kemi in May, twelve of us by bus",
        {"kind": "activity", "partner": None, "when": None, "travellers": 12}
        | {"travel_mode": "bus"},
        "department",
    ),
    (
        "en",
        "Delegation visit to Luleå from Oulu in April",
        {"kind": "activity", "destination": None, "guests_from": None, "when": None},
        "department",
    ),
    (
        "en",
        "Trip to Brussels on 2027-03-12, two of us flying",
        {"kind": "trip", "destination": None, "when": None, "travellers": 2}
        | {"travel_mode": "flight"},
        "department",
    ),
    ("en", "Seminar in Oslo in June", {"kind": "activity", "destination": None}, "department"),
    (
        "en",
        "Congress in Vienna, five of us",
        {"kind": "activity", "destination": None, "travellers": 5},
        "department",
    ),
    (
        "en",
        "A meeting with Barents Road in Salla, two of us",
        {"kind": "activity", "partner": None, "destination": None, "travellers": 2},
        "department",
    ),
    (
        "en",
        "Business trip to Finland in May by car",
        {"kind": "trip", "destination": None, "when": None, "travel_mode": "car"},
        "department",
    ),
    (
        "en",
        "Study visit to Haparanda by car",
        {"kind": "activity", "destination": None, "travel_mode": "car"},
        "department",
    ),
]


@pytest.fixture
def chat(places_engine: Engine) -> Chat:
    return Chat(places_engine)


async def finish(chat: Chat, lang: str) -> list[str]:
    """Answers every question still asked with an ordinary answer; the steps asked."""
    asked: list[str] = []
    for _ in range(30):
        step = chat.step
        if step == "confirm":
            await chat.choose("save")
            return asked
        assert step is not None, chat.replies
        asked.append(step)
        if step.endswith(".confirm"):
            await chat.choose(chat.question["choices"][0]["value"])
        else:
            await chat.say(ANSWERS[lang][step])
    raise AssertionError(f"the check did not end: {asked}")


def test_the_table_has_thirty_openers_in_both_languages() -> None:
    assert len(OPENERS) >= 30
    assert {lang for lang, *_ in OPENERS} == {"sv", "en"}


@pytest.mark.parametrize(("lang", "opener", "picked", "next_step"), OPENERS)
async def test_one_sentence_fills_what_it_says_and_asks_only_the_rest(
    chat: Chat, rules: RuleSet, lang: Lang, opener: str, picked: dict[str, Any], next_step: str
) -> None:
    chat.lang = lang
    await chat.say(opener)
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None and state.lang == lang
    for field, value in picked.items():
        assert field in state.answers, (field, state.answers)
        if value is not None:
            assert state.answers[field].value == value, field
    understood = [m["text"] for m in chat.replies if m["type"] == "message"][1]
    assert understood.startswith(rules.text("understood", lang, fields="")[:6])
    assert rules.text("understood.correct", lang) in understood
    assert chat.step == next_step
    asked = await finish(chat, lang)
    assert not set(asked) & set(picked), asked
    assert chat.decision["outcome"] in ("travel", "digital", "not_qualified")


@pytest.mark.parametrize(
    ("lang", "opener"),
    [
        ("sv", "hej"),
        ("sv", "Hej, jag behöver hjälp"),
        ("sv", "God morgon!"),
        ("en", "hello there"),
        ("en", "Hi, I'd like some advice please"),
    ],
)
async def test_a_sentence_with_nothing_recognisable_starts_the_ordinary_check(
    chat: Chat, rules: RuleSet, lang: Lang, opener: str
) -> None:
    await chat.say(opener)
    assert chat.types() == ["message", "question"] and chat.step == "kind"
    assert rules.text("greeting", lang) == chat.replies[0]["text"]
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None and state.answers == {}


@pytest.mark.parametrize(
    ("lang", "opener"),
    [
        ("sv", "Studieresa till Bologna med SERN i maj, vi är tre och åker tåg"),
        ("en", "Study visit to Bologna with SERN in May, three of us by train"),
    ],
)
async def test_one_sentence_typed_at_the_first_question_counts_too(
    chat: Chat, lang: str, opener: str
) -> None:
    await chat.say("hej" if lang == "sv" else "hello")
    await chat.say(opener)
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None
    assert {"kind", "partner", "destination", "when", "travellers"} <= set(state.answers)
    assert chat.step == "department"
