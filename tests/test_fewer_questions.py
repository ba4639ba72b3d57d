"""Fewer questions and the answers that save them (issues 11 and 12), through whole jsonl
conversations in both languages: the partner's own town offered as the place, a dormant twin
city flagged as soon as it is named, corrections in the middle of a check, the date typed
freely, last time's travellers offered, and a motivation asked exactly where the plan asks."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from rules.ruleset import RuleSet
from tests.conftest import Chat

YES = {"sv": "ja", "en": "yes"}
NO = {"sv": "nej", "en": "no"}
UNKNOWN = {"sv": "vet inte", "en": "don't know"}
START = {"sv": ["hej", "resa", "Möte", "Kommunstaben"], "en": ["hello", "trip", "Meeting", "KS"]}
MOTIVATION = {
    "sv": "Mötet avgör nästa års samarbete.",
    "en": "The meeting decides next year's work.",
}


@pytest.fixture
def chat(places_engine: Engine) -> Chat:
    return Chat(places_engine)


async def to_partner(chat: Chat, lang: str) -> None:
    chat.lang = lang
    for text in START[lang]:
        await chat.say(text)
    assert chat.step == "partner"


async def to_travel_mode(
    chat: Chat, lang: str, partner: str, place: str, presence: str = "yes"
) -> None:
    """From the partner question to the travel mode: one checklist yes, goal 8."""
    await to_partner(chat, lang)
    await chat.say(partner)
    await chat.say(place)
    assert chat.step == "contributes_development"  # the date is offered in the summary
    await chat.say(YES[lang])
    await chat.say("8")
    await chat.say(YES[lang] if presence == "yes" else NO[lang])
    if presence != "yes":
        await chat.say(YES[lang])  # a digital alternative exists
    await chat.say("2")
    assert chat.step == "travel_mode"


async def to_summary(chat: Chat, lang: str) -> None:
    """A whole check up to its summary: by train to Bologna, everything prepared."""
    await to_travel_mode(chat, lang, "SERN", "Bologna")
    await chat.say("tåg" if lang == "sv" else "train")
    await chat.say("alla" if lang == "sv" else "all")
    assert chat.step == "confirm"


async def answers(chat: Chat) -> dict[str, object]:
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None
    return {name: answer.value for name, answer in state.answers.items()}


# --- the partner's own town ---------------------------------------------------------------


@pytest.mark.parametrize(("lang", "partner"), [("sv", "Uleåborg"), ("en", "Oulu")])
async def test_the_place_defaults_to_the_partners_town_offered_as_a_choice(
    chat: Chat, rules: RuleSet, lang: str, partner: str
) -> None:
    await to_partner(chat, lang)
    await chat.say(partner)
    assert chat.step == "destination"
    assert chat.question["text"] == rules.text("q.destination.home", lang, home="Oulu")  # type: ignore[arg-type]
    assert chat.question["choices"] == [{"label": "Oulu", "value": "Oulu"}]
    await chat.say(YES[lang])  # "ja" takes the town offered
    assert chat.step == "contributes_development"
    destination = (await answers(chat))["destination"]
    assert isinstance(destination, dict) and destination["name"] == "Oulu"


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_partners_town_is_a_button_too_and_another_place_can_be_typed(
    chat: Chat, lang: str
) -> None:
    await to_partner(chat, lang)
    await chat.say("SERN")
    await chat.choose("Bologna")
    assert chat.step == "contributes_development"
    await chat.say("back")
    assert chat.step == "destination"
    await chat.say("Rimini")
    destination = (await answers(chat))["destination"]
    assert isinstance(destination, dict) and destination["name"] == "Rimini"


# --- a dormant twin city --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "opener"),
    [("sv", "Vänortsbesök i Zenica i oktober, vi är fyra"), ("en", "Twin city visit to Zenica")],
)
async def test_a_dormant_twin_city_named_in_the_first_sentence_is_flagged_at_once(
    chat: Chat, rules: RuleSet, lang: str, opener: str
) -> None:
    chat.lang = lang
    await chat.say(opener)
    assert rules.text("echo.dormant", lang, partner="Zenica") in chat.texts()  # type: ignore[arg-type]
    assert [r["type"] for r in chat.replies].count("message") == 2  # greeting, understood
    partner = (await answers(chat))["partner"]
    assert isinstance(partner, dict) and partner["dormant"] is True


# --- corrections in the middle of a check ---------------------------------------------------


@pytest.mark.parametrize(("lang", "said"), [("sv", "vi är tre"), ("en", "three of us")])
async def test_travellers_said_at_another_question_correct_them(
    chat: Chat, rules: RuleSet, lang: str, said: str
) -> None:
    chat.lang = lang
    opener = {
        "sv": "Studieresa till Bologna med SERN i maj, vi är två och åker tåg",
        "en": "Study visit to Bologna with SERN in May, two of us by train",
    }[lang]
    await chat.say(opener)
    await chat.say("Kommunstaben")
    await chat.say(YES[lang])
    assert chat.step == "goals"
    await chat.say(said)
    label = rules.text("field.travellers", lang)  # type: ignore[arg-type]
    assert chat.replies[0]["text"] == rules.text("corrected", lang, field=label, value="3")  # type: ignore[arg-type]
    assert chat.step == "goals" and (await answers(chat))["travellers"] == 3
    await chat.say("8")  # the goals question itself still reads numbers as goals
    assert (await answers(chat))["goals"] == [8]


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_number_at_the_goals_question_is_goals_not_a_correction(
    chat: Chat, lang: str
) -> None:
    await to_partner(chat, lang)
    for text in ("SERN", "Bologna", YES[lang]):
        await chat.say(text)
    assert chat.step == "goals"
    await chat.say("3")
    assert (await answers(chat))["goals"] == [3] and chat.step == "physical_necessary"


@pytest.mark.parametrize(("lang", "change"), [("sv", "ändra resmål"), ("en", "change destination")])
async def test_change_and_a_field_asks_that_question_again_then_goes_on(
    chat: Chat, lang: str, change: str
) -> None:
    await to_partner(chat, lang)
    for text in ("SERN", "Bologna"):
        await chat.say(text)
    assert chat.step == "contributes_development"
    await chat.say(change)
    assert chat.step == "destination"
    await chat.say("Rimini")
    assert chat.step == "contributes_development"


@pytest.mark.parametrize(("lang", "said"), [("sv", "vi tar tåget"), ("en", "we take the train")])
async def test_the_mode_corrected_at_the_tick_list(chat: Chat, lang: str, said: str) -> None:
    await to_travel_mode(chat, lang, "SERN", "Bologna")
    await chat.say("flyg" if lang == "sv" else "flight")
    assert chat.step == "prepared"
    await chat.say(said)
    assert (await answers(chat))["travel_mode"] == "train"
    assert chat.step == "prepared"


# --- when -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed", "start", "precision"),
    [
        ("sv", "12 mars", "2027-03-12", "day"),
        ("sv", "i maj", "2027-05-01", "month"),
        ("sv", "2027-03-12", "2027-03-12", "day"),
        ("sv", "nästa vecka", "2026-09-28", "week"),
        ("en", "12 March", "2027-03-12", "day"),
        ("en", "in May", "2027-05-01", "month"),
        ("en", "next week", "2026-09-28", "week"),
    ],
)
async def test_when_is_typed_freely_and_stored_as_the_contract_says(
    chat: Chat, lang: str, typed: str, start: str, precision: str
) -> None:
    await to_summary(chat, lang)
    await chat.say(typed)  # the summary offers the date: typed there, it is added
    assert chat.step == "confirm"
    assert (await answers(chat))["when"] == {"start": start, "precision": precision, "text": typed}


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_when_asked_from_the_summary_may_be_left_by_word_command_or_button(
    chat: Chat, lang: str
) -> None:
    await to_summary(chat, lang)
    change = "ändra datum" if lang == "sv" else "change date"
    await chat.say(change)
    assert chat.step == "when" and chat.question["choices"][0]["value"] == "unknown"
    await chat.say(UNKNOWN[lang])
    assert chat.step == "confirm" and (await answers(chat))["when"] is None
    await chat.say(change)
    await chat.say("hoppa över" if lang == "sv" else "skip")
    assert chat.step == "confirm" and (await answers(chat))["when"] is None
    await chat.say(change)
    await chat.choose("unknown")
    assert chat.step == "confirm"


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_date_not_understood_gets_a_hint(chat: Chat, rules: RuleSet, lang: str) -> None:
    await to_summary(chat, lang)
    await chat.say("ändra datum" if lang == "sv" else "change date")
    await chat.say("snart någon gång" if lang == "sv" else "some day soonish")
    assert chat.types() == ["hint", "question"] and chat.step == "when"
    assert chat.replies[0]["text"] == rules.text("hint.when", lang)  # type: ignore[arg-type]


# --- a returning user ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_last_times_travellers_are_offered(chat: Chat, rules: RuleSet, lang: str) -> None:
    await to_summary(chat, lang)
    await chat.choose("save")
    assert chat.decision["outcome"] == "travel"
    await to_partner(chat, lang)
    for text in ("SERN", "Bologna", YES[lang], "8", YES[lang]):
        await chat.say(text)
    assert chat.step == "travellers"
    assert chat.question["text"] == rules.text("q.travellers.last", lang, count="2")  # type: ignore[arg-type]
    assert chat.question["choices"] == [{"label": "2", "value": "2"}]
    await chat.choose("2")
    assert chat.step == "travel_mode"


# --- motivation where the plan asks for it (issue 12) ----------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize(
    ("partner", "place", "mode", "presence", "asked"),
    [
        # outside the focus areas: the added value must be motivated
        ("none", "Tokyo", "flight", "yes", "outside_focus_area"),
        # a flight where the train + bus (about 12 h) is reasonable
        ("none", "Tromsø", "flight", "yes", "lower_carbon_mode"),
        ("none", "Oulu", "flight", "yes", "lower_carbon_mode"),
        # no reason asked: a focus area and no reasonable lower-carbon mode, another mode,
        # the business region's own work, or a digital recommendation
        ("SERN", "Bologna", "flight", "yes", None),
        ("none", "Oulu", "car", "yes", None),
        ("Luleå Business Region", "Tokyo", "flight", "yes", None),
        ("none", "Oulu", "flight", "no", None),
    ],
)
async def test_a_motivation_is_asked_exactly_where_the_plan_asks(
    chat: Chat,
    rules: RuleSet,
    lang: str,
    partner: str,
    place: str,
    mode: str,
    presence: str,
    asked: str | None,
) -> None:
    none = {"sv": "ingen", "en": "none"}[lang] if partner == "none" else partner
    await to_travel_mode(chat, lang, none, place, presence)
    modes = {"sv": {"flight": "flyg", "car": "bil"}, "en": {"flight": "flight", "car": "car"}}
    await chat.say(modes[lang][mode])
    await chat.say("alla" if lang == "sv" else "all")
    if asked is None:
        assert chat.step == "confirm"
        await chat.choose("save")
        assert "motivation" not in (await answers(chat))
        return
    assert chat.step == "motivation"
    train = rules.text("mode.train", lang).lower()  # type: ignore[arg-type]
    values = {"mode": train} if asked == "lower_carbon_mode" else {}
    assert chat.question["text"] == rules.text(f"q.motivation.{asked}", lang, **values)  # type: ignore[arg-type]
    await chat.say("ok")
    assert chat.types() == ["hint", "question"] and chat.step == "motivation"
    await chat.say(MOTIVATION[lang])
    assert chat.step == "confirm"
    assert (await answers(chat))["motivation"] == MOTIVATION[lang]
    assert rules.text("field.motivation", lang) in chat.question["text"]  # type: ignore[arg-type]
    await chat.choose("save")
    stored = await chat.engine.storage.get_decision(chat.decision["id"])
    assert stored is not None and stored.answers["motivation"]["value"] == MOTIVATION[lang]


@pytest.mark.parametrize(("lang", "said"), [("sv", "vi är tre"), ("en", "three of us")])
async def test_a_correction_at_the_summary_changes_it_and_shows_it_again(
    chat: Chat, rules: RuleSet, lang: str, said: str
) -> None:
    await to_summary(chat, lang)
    await chat.say(said)
    assert chat.step == "confirm" and (await answers(chat))["travellers"] == 3
    label = rules.text("field.travellers", lang)  # type: ignore[arg-type]
    assert f"{label}: 3" in chat.question["text"]
