"""Questions answered together (issue 11, "Fewer questions"), through whole jsonl
conversations in both languages: the presence question also takes the digital option, what
the plan asks to have been prepared is one tick list, and the optional date is offered in
the summary instead of being asked."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from rules.models import Lang
from rules.ruleset import RuleSet
from tests.conftest import Chat

YES = {"sv": "ja", "en": "yes"}
NO = {"sv": "nej", "en": "no"}
# A trip to Oulu with Bottenviksbågen: one checklist yes and goal 8 make it qualify.
TO_PRESENCE = {
    "sv": ["hej", "resa", "Möte", "Kommunstaben", "Bottenviksbågen", "ja", "ja", "8"],
    "en": ["hello", "trip", "Meeting", "KS", "Bothnian Arc", "yes", "yes", "8"],
}


@pytest.fixture
def chat(places_engine: Engine) -> Chat:
    return Chat(places_engine)


async def answers(chat: Chat) -> dict[str, Any]:
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None
    return {name: answer.value for name, answer in state.answers.items()}


async def labels(chat: Chat) -> dict[str, str]:
    state = await chat.engine.storage.load_conversation(chat.key)
    assert state is not None
    return {name: answer.label for name, answer in state.answers.items()}


async def to_presence(chat: Chat, lang: Lang, kind: str | None = None) -> None:
    chat.lang = lang
    script = list(TO_PRESENCE[lang])
    if kind is not None:
        script[1] = kind
    for text in script:
        await chat.say(text)
    assert chat.step == "physical_necessary"


async def to_ticks(chat: Chat, lang: Lang, kind: str | None = None) -> None:
    """On to the tick list: presence necessary, two travellers by train."""
    await to_presence(chat, lang, kind)
    for text in (YES[lang], "2", "tåg" if lang == "sv" else "train"):
        await chat.say(text)
    assert chat.step == "prepared"


# --- presence and the digital option ------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_presence_question_offers_the_digital_option_in_its_buttons(
    chat: Chat, rules: RuleSet, lang: Lang
) -> None:
    await to_presence(chat, lang)
    assert [c["value"] for c in chat.question["choices"]] == [
        "yes",
        "digital",
        "no_digital",
        "unsure",
    ]
    assert chat.question["choices"][1]["label"] == rules.text("choice.presence_digital", lang)


@pytest.mark.parametrize(("button", "digital"), [("digital", True), ("no_digital", False)])
@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_one_press_answers_presence_and_the_digital_option(
    chat: Chat, lang: Lang, button: str, digital: bool
) -> None:
    await to_presence(chat, lang)
    await chat.send({"choice": button, "step": "physical_necessary"})
    stored = await answers(chat)
    assert stored["physical_necessary"] == "no"
    assert stored["digital_alternative"] is digital
    assert chat.step == "travellers"  # the digital option is not asked again


@pytest.mark.parametrize(
    ("lang", "typed", "digital"),
    [
        ("sv", "nej, det går digitalt", True),
        ("sv", "Nej, vi kan ses på Teams", True),
        ("sv", "digitalt går bra", True),
        ("sv", "nej, det finns inget digitalt alternativ", False),
        ("sv", "nej, digitalt går inte", False),
        ("en", "no, online works", True),
        ("en", "not necessary, we can do it online", True),
        ("en", "no, there is no online option", False),
        ("en", "nope, no video link", False),
    ],
)
async def test_a_typed_no_that_names_the_digital_option_answers_both(
    chat: Chat, lang: Lang, typed: str, digital: bool
) -> None:
    await to_presence(chat, lang)
    await chat.say(typed)
    stored = await answers(chat)
    assert (stored["physical_necessary"], stored["digital_alternative"]) == ("no", digital)
    assert chat.step == "travellers"


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_plain_no_still_asks_for_the_digital_option(chat: Chat, lang: Lang) -> None:
    await to_presence(chat, lang)
    await chat.say(NO[lang])
    assert chat.step == "digital_alternative"
    await chat.say(YES[lang])
    assert (await answers(chat))["digital_alternative"] is True


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_yes_with_a_digital_word_is_presence_necessary_only(chat: Chat, lang: Lang) -> None:
    await to_presence(chat, lang)
    await chat.say("ja, men Teams finns" if lang == "sv" else "yes, though Teams exists")
    stored = await answers(chat)
    assert stored["physical_necessary"] == "yes" and "digital_alternative" not in stored


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_back_after_one_answer_to_both_asks_the_presence_question_again(
    chat: Chat, lang: Lang
) -> None:
    await to_presence(chat, lang)
    await chat.send({"choice": "digital", "step": "physical_necessary"})
    await chat.say("tillbaka" if lang == "sv" else "back")
    assert chat.step == "physical_necessary"
    stored = await answers(chat)
    assert "physical_necessary" not in stored and "digital_alternative" not in stored


# --- the tick list ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_equality_and_the_annual_plan_are_one_tick_list(
    chat: Chat, rules: RuleSet, lang: Lang
) -> None:
    await to_ticks(chat, lang)
    question = chat.question
    assert question["multi"] is True
    assert [c["value"] for c in question["choices"]] == ["1", "2", "none"]
    assert rules.text("tick.equality_considered", lang) in question["text"]
    assert rules.text("tick.in_annual_plan", lang) in question["text"]


@pytest.mark.parametrize(
    ("lang", "typed", "equality", "plan", "unticked"),
    [
        ("sv", "1, 2", True, True, "choice.no"),
        ("sv", "alla", True, True, "choice.no"),
        ("sv", "båda", True, True, "choice.no"),
        ("sv", "2", False, True, "choice.no"),
        ("sv", "bara jämställdheten", True, False, "choice.no"),
        ("sv", "inget", False, False, "choice.no"),
        ("sv", "nej", False, False, "choice.no"),
        ("sv", "vet inte", False, False, "choice.unsure"),
        ("en", "1 and 2", True, True, "choice.no"),
        ("en", "both", True, True, "choice.no"),
        ("en", "the annual plan", False, True, "choice.no"),
        ("en", "equality", True, False, "choice.no"),
        ("en", "none", False, False, "choice.no"),
        ("en", "don't know", False, False, "choice.unsure"),
    ],
)
async def test_a_typed_tick_list_answer_sets_each_field(
    chat: Chat,
    rules: RuleSet,
    lang: Lang,
    typed: str,
    equality: bool,
    plan: bool,
    unticked: str,
) -> None:
    await to_ticks(chat, lang)
    await chat.say(typed)
    stored = await answers(chat)
    assert (stored["equality_considered"], stored["in_annual_plan"]) == (equality, plan)
    shown = await labels(chat)
    expected = {True: rules.text("choice.yes", lang), False: rules.text(unticked, lang)}
    assert shown["equality_considered"] == expected[equality]
    assert shown["in_annual_plan"] == expected[plan]
    assert chat.step == "confirm"


@pytest.mark.parametrize(("choice", "ticked"), [("1,2", (True, True)), ("none", (False, False))])
async def test_a_tick_list_submitted_with_buttons(
    chat: Chat, choice: str, ticked: tuple[bool, bool]
) -> None:
    await to_ticks(chat, "sv")
    await chat.send({"choice": choice, "step": "prepared"})
    stored = await answers(chat)
    assert (stored["equality_considered"], stored["in_annual_plan"]) == ticked


@pytest.mark.parametrize(("lang", "typed"), [("sv", "7"), ("en", "purple")])
async def test_a_tick_list_answer_not_understood_gets_a_hint(
    chat: Chat, rules: RuleSet, lang: Lang, typed: str
) -> None:
    await to_ticks(chat, lang)
    await chat.say(typed)
    assert rules.text("hint.prepared", lang) in chat.texts()
    assert chat.step == "prepared"
    assert "equality_considered" not in await answers(chat)


async def test_a_project_adds_the_eu_funds_to_the_tick_list(chat: Chat) -> None:
    await to_ticks(chat, "sv", kind="projekt")
    assert [c["value"] for c in chat.question["choices"]] == ["1", "2", "3", "none"]
    await chat.say("1, 3")
    stored = await answers(chat)
    assert stored["equality_considered"] is True
    assert stored["eu_funding_checked"] is False
    assert stored["in_annual_plan"] is True


async def test_nothing_ticked_brings_the_plans_advisories(chat: Chat) -> None:
    await to_ticks(chat, "en")
    await chat.say("none")
    await chat.say("save")
    codes = {a["code"] for a in chat.decision["advisories"]}
    assert {"equality_not_considered", "not_in_annual_plan"} <= codes


async def test_back_after_the_tick_list_asks_it_again_whole(chat: Chat) -> None:
    await to_ticks(chat, "sv")
    await chat.say("1, 2")
    await chat.say("tillbaka")
    assert chat.step == "prepared"
    stored = await answers(chat)
    assert "equality_considered" not in stored and "in_annual_plan" not in stored


async def test_one_statement_changed_in_the_summary_is_asked_on_its_own(chat: Chat) -> None:
    await to_ticks(chat, "sv")
    await chat.say("alla")
    await chat.say("ändra jämställdhet beaktad")
    assert chat.step == "equality_considered"
    await chat.say("nej")
    assert chat.step == "confirm"
    assert (await answers(chat))["in_annual_plan"] is True


async def test_a_partner_contact_ticks_luleås_plan_in_their_own_wording(
    places_engine: Engine,
) -> None:
    key = ConversationKey("telegram", "c1", "kari")
    replies: tuple[Outgoing, ...] = ()
    for text in ("hello", "trip", "Meeting", "City of Tromsø", "Bothnian Arc", "yes", "yes"):
        replies = (
            await places_engine.handle(key, Incoming(text=text), role="partner_contact")
        ).replies
    for text in ("8", "yes", "2", "train"):
        replies = (
            await places_engine.handle(key, Incoming(text=text), role="partner_contact")
        ).replies
    assert replies[-1].step == "prepared"
    wording = places_engine.rules.text("tick.in_annual_plan.partner_contact", "en")
    assert wording in replies[-1].text


# --- the date, offered in the summary --------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed", "label"), [("sv", "12 mars", "12 mars"), ("en", "in May", "May")]
)
async def test_the_date_is_not_asked_but_offered_in_the_summary_and_typed_there(
    chat: Chat, rules: RuleSet, lang: Lang, typed: str, label: str
) -> None:
    await to_ticks(chat, lang)
    await chat.say(YES[lang] if lang == "sv" else "all")
    assert chat.step == "confirm"
    assert rules.text("summary.when_offer", lang) in chat.question["text"]
    await chat.say(typed)
    assert chat.step == "confirm"
    assert label in chat.question["text"]
    assert rules.text("summary.when_offer", lang) not in chat.question["text"]
    assert (await answers(chat))["when"]["precision"] in ("day", "month")


@pytest.mark.parametrize(("lang", "change"), [("sv", "ändra datum"), ("en", "change date")])
async def test_the_date_can_be_chosen_from_the_summary(chat: Chat, lang: Lang, change: str) -> None:
    await to_ticks(chat, lang)
    await chat.say("alla" if lang == "sv" else "all")
    await chat.say(change)
    assert chat.step == "when"
    await chat.say("2027-03-12")
    assert chat.step == "confirm"
    assert (await answers(chat))["when"]["start"] == "2027-03-12"
