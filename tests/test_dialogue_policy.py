"""POLICY §9 through whole conversations (the jsonl channel), in Swedish and English: a mode
that does not exist is asked again, several partners are recorded with the one that leads, a
dormant twin city is flagged at once, a digital place asks no travel questions, Luleå asks
where the guests come from, and the first message sets the language."""

from __future__ import annotations

import pytest

from bot.batch import evaluate_row
from bot.engine import Engine
from rules.answers import Accepted, Interpreter
from rules.fields import FIELD, GROUPS
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from tests.conftest import Chat
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK, answer_all


@pytest.fixture
def chat(places_engine: Engine) -> Chat:
    """A jsonl chat with an engine that knows places."""
    return Chat(places_engine)


@pytest.fixture
def interpreter(rules: RuleSet, place_index: PlaceIndex) -> Interpreter:
    return Interpreter(rules, place_index)


OPENING = {
    "sv": ["hej", "resa", "Studiebesök", "Kommunstaben"],
    "en": ["hello", "trip", "Study visit", "Kommunstaben"],
}
YES = {"sv": "ja", "en": "yes"}
NO = {"sv": "nej", "en": "no"}


async def open_check(chat: Chat, lang: str) -> None:
    for text in OPENING[lang]:
        await chat.say(text)
    assert chat.step == "partner"


async def to_travel_mode(chat: Chat, lang: str, place: str) -> None:
    await chat.say("ingen" if lang == "sv" else "none")
    await chat.say(place)
    for answer in (YES[lang], "8", YES[lang]):
        await chat.say(answer)
    await chat.say("2")
    assert chat.step == "travel_mode"


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_train_to_reykjavik_is_refused_and_asked_again(
    chat: Chat, rules: RuleSet, lang: Lang
) -> None:
    await open_check(chat, lang)
    await to_travel_mode(chat, lang, "Reykjavík")
    await chat.say("tåg" if lang == "sv" else "train")
    assert chat.types() == ["hint", "question"] and chat.step == "travel_mode"
    assert chat.replies[0]["text"] == rules.text(
        "routes.unavailable.train", lang, place="Reykjavík"
    )
    await chat.say("flyg" if lang == "sv" else "flight")
    assert chat.step == "prepared"


@pytest.mark.parametrize(("lang", "text"), [("sv", "SERN och UBC"), ("en", "SERN and UBC")])
async def test_several_partners_are_recorded_and_the_user_picks_the_lead(
    chat: Chat, rules: RuleSet, lang: str, text: str
) -> None:
    await open_check(chat, lang)
    await chat.say(text)
    assert chat.step == "partner.confirm"
    labels = ", ".join(c["label"] for c in chat.question["choices"])
    assert chat.question["text"] == rules.text("partner.which_leads", lang, partners=labels)  # type: ignore[arg-type]
    assert [c["value"] for c in chat.question["choices"]] == ["sern", "ubc"]
    await chat.choose("ubc")
    assert "SERN" in chat.texts() and chat.step == "destination"
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None
    assert state.answers["partner"].value == {"id": "ubc", "text": text, "others": ["sern"]}


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_dormant_twin_city_is_flagged_at_once_and_its_decision_asked_for(
    chat: Chat, rules: RuleSet, lang: str
) -> None:
    await open_check(chat, lang)
    await chat.say("Zenica")
    assert rules.text("echo.dormant", lang, partner="Zenica") in chat.texts()  # type: ignore[arg-type]
    assert chat.step == "dormant_resumed"
    await chat.say(YES[lang])
    assert chat.step == "destination"


@pytest.mark.parametrize(("lang", "place"), [("sv", "Teams"), ("en", "online")])
async def test_a_digital_place_asks_no_travel_questions(chat: Chat, lang: str, place: str) -> None:
    await open_check(chat, lang)
    await chat.say("ingen" if lang == "sv" else "none")
    await chat.say(place)
    for answer in (YES[lang], "8"):
        await chat.say(answer)
    assert chat.step == "prepared"


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_lulea_asks_where_the_guests_come_from(chat: Chat, lang: str) -> None:
    await open_check(chat, lang)
    await chat.say("ingen" if lang == "sv" else "none")
    await chat.say("Luleå")
    assert chat.step == "guests_from"
    await chat.say("Uleåborg" if lang == "sv" else "Oulu")
    assert chat.step == "contributes_development"


@pytest.mark.parametrize(
    ("opener", "lang"),
    [
        ("Hi there", "en"),
        ("Good evening", "en"),
        ("I want to check a trip to Oulu", "en"),
        ("God morgon", "sv"),
        ("Jag vill kolla en resa", "sv"),
    ],
)
async def test_the_first_message_sets_the_language(
    chat: Chat, rules: RuleSet, opener: str, lang: str
) -> None:
    await chat.say(opener)
    assert rules.text("greeting", lang) in chat.texts()  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_batch_row_is_read_and_explained_in_the_chosen_language(
    interpreter: Interpreter, rules: RuleSet, lang: str
) -> None:
    row = {"kind": "resa", "title": "Möte", "department": "Kommunstaben", "partner": "SERN och UBC"}
    row |= {"destination": "Bologna", "contributes_development": "ja", "external_monitoring": "ja"}
    row |= {"influence": "nej", "goals": "8", "physical_necessary": "ja", "travellers": "2"}
    row |= {"travel_mode": "zeppelin", "equality_considered": "ja", "in_annual_plan": "ja"}
    result = evaluate_row(1, row, interpreter, lang)  # type: ignore[arg-type]
    hint = rules.text("hint.travel_mode", lang)  # type: ignore[arg-type]
    assert result.errors == [f"travel_mode: 'zeppelin' is not understood. {hint}"]
    row["travel_mode"] = "tåg"
    result = evaluate_row(1, row, interpreter, lang)  # type: ignore[arg-type]
    # As in the chat, both partners are recorded; with nobody to ask, the first leads.
    assert result.decision is not None and result.decision.partner == "sern"
    assert result.notes and "SERN" in result.notes[0]


def batch_row(
    script: list[tuple[str, str]], interpreter: Interpreter, lang: Lang
) -> dict[str, str]:
    """The batch row that says what a chat's answers said: a tick list is a column per
    statement (a trip's list: equality, the annual plan), a date typed at the summary `when`."""
    row: dict[str, str] = {}
    statements = [f for f in GROUPS["prepared"] if f != "eu_funding_checked"]
    for step, text in script:
        if step == "prepared":
            ticked = interpreter.ticks(text, lang, statements)
            assert isinstance(ticked, Accepted)
            row |= {name: "ja" if name in ticked.value else "nej" for name in statements}
        elif step == "confirm":
            row["when"] = text
        elif step in FIELD:
            row[step] = text
    return row


@pytest.mark.parametrize(
    ("lang", "script"),
    [
        ("sv", SWEDISH_CHECK),
        ("en", ENGLISH_CHECK),
        (
            "sv",
            [
                ("kind", "delegationsbesök"),
                ("title", "Styrelse"),
                ("department", "Kommunstaben"),
                ("partner", "SERN och UBC"),
                ("partner.confirm", "SERN"),
                ("destination", "Bologna"),
                ("contributes_development", "nej"),
                ("external_monitoring", "ja"),
                ("goals", "fem och åtta"),
                ("physical_necessary", "vet inte"),
                ("digital_alternative", "vet inte"),
                ("travellers", "jag och en kollega"),
                ("travel_mode", "tåg"),
                # Equality not known (so not done), in the annual plan.
                ("prepared", "2"),
                ("confirm", "i maj"),
            ],
        ),
    ],
)
async def test_a_conversation_and_a_batch_row_reach_the_same_decision(
    chat: Chat, interpreter: Interpreter, lang: str, script: list[tuple[str, str]]
) -> None:
    await chat.say("hej" if lang == "sv" else "hello")
    await answer_all(chat, script)
    await chat.say("spara" if lang == "sv" else "save")
    said = chat.decision
    row = batch_row(script, interpreter, lang)  # type: ignore[arg-type]
    batch = evaluate_row(1, row, interpreter, lang)  # type: ignore[arg-type]
    assert batch.decision is not None, batch.errors
    assert (said["outcome"], said["focus_area"], said["partner"]) == (
        batch.decision.outcome,
        batch.decision.focus_area,
        batch.decision.partner,
    )
    assert [a["code"] for a in said["advisories"]] == batch.decision.advisory_codes
