"""The check as one Teams form card, end to end: activities and `adaptiveCard/action` invokes
POSTed to our server over loopback HTTP, cards sent and updated through the fake connector.

Typing "formulär" or "form" sends a card that only the asker's Teams refreshes into the form
(`refresh.userIds`); each invoke is answered in its HTTP response with the card as it now is:
the form, the form with its errors, or the decision."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.teams_cards import CHOICE
from adapters.teams_form_card import FORM, INPUT, REFRESH, SUBMIT, UPDATE
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from bot.storage import StoredDecision
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from tests.fake_teams import CARD, ConnectorCall, FakeConnector, card_texts
from tests.servers import running
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK
from tests.test_teams import BOT, CHANNEL, Bot, TeamsUser, serving, teams_settings

LOCALE: dict[Lang, str] = {"sv": "sv-SE", "en": "en-US"}
# The chat's answers (tests/test_conversation.py) as the form card takes them: choices by
# value, partner and place typed as in the chat.
FORM_ANSWERS: dict[Lang, dict[str, str]] = {
    "sv": {
        "kind": "trip",
        "title": "Styrelsemöte i Bottenviksbågen",
        "department": "Kommunstaben",
        "partner": "bottenviksbagen",
        "destination": "Uleåborg",
        "contributes_development": "yes",
        "external_monitoring": "no",
        "influence": "yes",
        "goals": "8",
        "physical_necessary": "no",
        "digital_alternative": "yes",
        "travellers": "2",
        "travel_mode": "flight",
        "equality_considered": "yes",
        "in_annual_plan": "yes",
    },
    "en": {
        "kind": "trip",
        "title": "Study visit on social economy",
        "department": "Arbetsmarknadsförvaltningen",
        "partner": "Sweden Emilia Romagna Network",
        "destination": "Bologna",
        "contributes_development": "yes",
        "external_monitoring": "yes",
        "influence": "no",
        "goals": "9,2",
        "physical_necessary": "yes",
        "travellers": "3",
        "travel_mode": "flight",
        "equality_considered": "yes",
        "in_annual_plan": "yes",
    },
}
CHAT_ANSWERS: dict[Lang, dict[str, str]] = {"sv": dict(SWEDISH_CHECK), "en": dict(ENGLISH_CHECK)}
MENTION = {"type": "mention", "text": "<at>Tripcheck</at>", "mentioned": BOT}


@pytest.fixture
async def bot(rules: RuleSet, place_index: PlaceIndex) -> AsyncIterator[Bot]:
    fake = FakeConnector()
    async with (
        running(fake.app) as url,
        serving(rules, (fake, url), teams_settings(), places=place_index) as served,
    ):
        yield served


@dataclass
class FormFiller:
    """Someone in Teams with a form card: asks for it, and acts on it as their Teams client
    does (the automatic refresh, Action.Execute with the card's inputs)."""

    user: TeamsUser
    card: ConnectorCall | None = None
    last_activity: dict[str, Any] = field(default_factory=dict)

    @property
    def connector(self) -> FakeConnector:
        return self.user.bot.connector

    async def ask(self, text: str, **fields: Any) -> ConnectorCall:
        """Types `text`; the form card the bot sends."""
        sent = len(self.connector.sent)
        response = await self.user.post(self.user.activity(text=text, **fields))
        assert response.status_code == 200
        await self.connector.wait_for(lambda: len(self.connector.sent) > sent)
        self.card = self.connector.sent[sent]
        return self.card

    def share(self, card: ConnectorCall) -> FormFiller:
        self.card = card
        return self

    async def invoke(self, verb: str, inputs: dict[str, str] | None = None) -> dict[str, Any]:
        """An Action.Execute (or the refresh) on the card: the card we are answered with."""
        assert self.card is not None and self.card.card is not None
        data = self.card.card["refresh"]["action"]["data"]
        activity = self.user.activity(
            type="invoke",
            name="adaptiveCard/action",
            replyToId=self.card.id,
            value={
                "action": {
                    "type": "Action.Execute",
                    "verb": verb,
                    "data": {**data, **{f"{INPUT}{k}": v for k, v in (inputs or {}).items()}},
                },
                "trigger": "automatic" if verb == REFRESH else "manual",
            },
        )
        activity["conversation"]["id"] = self.card.conversation_id
        self.last_activity = activity
        response = await self.user.post(activity)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["statusCode"] == 200 and answer["type"] == CARD
        card: dict[str, Any] = answer["value"]
        assert card["version"] == "1.5"
        return card

    async def fill_in(self, answers: dict[str, str]) -> dict[str, Any]:
        """Refreshes, then shows the questions that apply until none is new: the last card."""
        card = await self.invoke(REFRESH)
        while True:
            given = {f: as_chosen(card, f, answers[f]) for f in fields(card) if f in answers}
            card = await self.invoke(UPDATE, given)
            if set(fields(card)) & set(answers) <= set(given):
                return card


def fields(card: dict[str, Any]) -> list[str]:
    """The questions a form card asks (its inputs), in order."""
    return [
        element["id"].removeprefix(INPUT)
        for element in card["body"]
        if element["type"].startswith("Input.") and not element["id"].endswith(".options")
    ]


def as_chosen(card: dict[str, Any], field: str, answer: str) -> str:
    """What the card's input sends for `answer`: a choice's value (found by its value or by
    the label it shows), or the text as typed."""
    choices = inputs(card)[field].get("choices") or []
    by_label = [c["value"] for c in choices if c["title"].lower() == answer.lower()]
    if by_label and not any(c["value"] == answer for c in choices):
        return str(by_label[0])
    return answer


def answers_for(lang: Lang) -> dict[str, str]:
    """What the form is given: the chat's answers, with choices by value."""
    return {**CHAT_ANSWERS[lang], **FORM_ANSWERS[lang]}


def inputs(card: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["id"].removeprefix(INPUT): e for e in card["body"] if e["type"].startswith("Input.")}


def executes(card: dict[str, Any]) -> list[str]:
    return [a["verb"] for a in card.get("actions") or [] if a["type"] == "Action.Execute"]


def user(bot: Bot, lang: Lang, aad: str = "aad-anna", **fields: Any) -> TeamsUser:
    return TeamsUser(bot, aad=aad, locale=LOCALE[lang], **fields)


async def chat_decision(engine: Engine, lang: Lang) -> StoredDecision:
    """The same check answered in the chat, through the engine as every channel does."""
    key = ConversationKey("teams", "a:chat-twin", "aad-twin")
    await engine.handle(key, Incoming(text="hej" if lang == "sv" else "hello", lang=lang))
    script = CHAT_ANSWERS[lang]
    while True:
        state = await engine.storage.load_conversation(key)
        assert state is not None
        step = engine.dialogue.step_id(state)
        if step == "confirm":
            break
        assert step in script, step
        await engine.handle(key, Incoming(text=script[step]))
    await engine.handle(key, Incoming(choice="save", step="confirm"))
    [decision] = await engine.recent_decisions("teams", "aad-twin")
    return decision


def comparable(decision: StoredDecision) -> dict[str, Any]:
    data = decision.model_dump(
        exclude={"id", "channel", "chat", "user_id", "created_at", "transcript", "answers"}
    )
    data["answers"] = {name: answer["value"] for name, answer in decision.answers.items()}
    return data


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_form_card_is_refreshed_into_the_form_for_the_asker(bot: Bot, lang: Lang) -> None:
    anna = FormFiller(user(bot, lang))
    sent = await anna.ask("formulär" if lang == "sv" else "form")
    card = sent.card
    assert card is not None and card["version"] == "1.5"
    # What the conversation shows: who fills it in, no inputs; refreshed for Anna alone.
    assert not fields(card) and not executes(card)
    assert card["refresh"]["userIds"] == ["29:aad-anna"]
    assert card["refresh"]["action"]["verb"] == REFRESH
    form = await anna.invoke(REFRESH)
    assert fields(form)[:5] == ["kind", "title", "department", "partner", "destination"]
    assert "travel_mode" not in fields(form)
    assert executes(form) == [SUBMIT, UPDATE]
    assert bot.engine.text("forms.title", lang) in card_texts(form)
    kinds = [c["title"] for c in inputs(form)["kind"]["choices"]]
    assert kinds == [bot.engine.text(f"kind.{k}", lang) for k in ("trip", "project", "activity")]
    # The refreshed card stays the asker's: it is refreshed again when they come back.
    assert form["refresh"]["userIds"] == ["29:aad-anna"]


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_an_invalid_form_is_answered_with_its_errors_and_records_nothing(
    bot: Bot, lang: Lang
) -> None:
    anna = FormFiller(user(bot, lang))
    await anna.ask("form")
    answers = {**answers_for(lang), "travellers": "ett gäng", "title": "!!!"}
    last = await anna.fill_in(answers)
    chosen = {f: as_chosen(last, f, answers[f]) for f in fields(last) if f in answers}
    card = await anna.invoke(SUBMIT, chosen)
    texts = card_texts(card)
    assert bot.engine.text("forms.teams.errors", lang) in texts
    assert bot.engine.text("hint.title", lang) in texts
    assert bot.engine.text("hint.travellers", lang) in texts
    # The answers stay as given, to be corrected.
    assert inputs(card)["travellers"]["value"] == "ett gäng"
    assert await bot.engine.recent_decisions("teams", "aad-anna") == []


async def test_a_name_that_could_mean_several_is_offered_as_options(bot: Bot) -> None:
    anna = FormFiller(user(bot, "en"))
    await anna.ask("form")
    card = await anna.invoke(SUBMIT, {"partner": "Arctic"})
    options = inputs(card).get("partner.options")
    assert options is not None and len(options["choices"]) > 1
    picked = options["choices"][0]
    card = await anna.invoke(UPDATE, {"partner": "Arctic", "partner.options": picked["value"]})
    assert "partner.options" not in inputs(card)


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_a_valid_form_is_answered_with_the_decision_the_chat_makes(
    bot: Bot, lang: Lang
) -> None:
    anna = FormFiller(user(bot, lang))
    sent = await anna.ask("form")
    answers = answers_for(lang)
    last = await anna.fill_in(answers)
    chosen = {f: as_chosen(last, f, answers[f]) for f in fields(last) if f in answers}
    card = await anna.invoke(SUBMIT, chosen)
    [recorded] = await bot.engine.recent_decisions("teams", "aad-anna")
    assert comparable(recorded) == comparable(await chat_decision(bot.engine, lang))
    headline = card["body"][0]["text"]
    assert headline == bot.engine.text(f"decision.headline.{recorded.outcome}", lang)
    assert any(str(recorded.id) in text for text in card_texts(card))
    # Everyone in the conversation sees the decision, and the form refreshes no more.
    [update] = [c for c in bot.connector.updated if c.activity_id == sent.id]
    assert update.card is not None and "refresh" not in update.card
    assert card_texts(update.card) == card_texts(card)
    # The same submission sent again (Teams retries an invoke it got no answer to) saves
    # nothing more.
    again = await anna.user.post(anna.last_activity)
    assert bot.engine.text("forms.teams.already_sent", lang) in card_texts(again.json()["value"])
    assert len(await bot.engine.recent_decisions("teams", "aad-anna")) == 1


async def test_in_a_channel_only_the_askers_card_is_active(bot: Bot) -> None:
    thread = f"{CHANNEL};messageid=1790000000070"
    anna = FormFiller(user(bot, "sv", conversation=thread, kind="channel"))
    bob = FormFiller(user(bot, "sv", aad="aad-bob", conversation=thread, kind="channel"))
    sent = await anna.ask("<at>Tripcheck</at> formulär", entities=[MENTION])
    assert sent.conversation_id == thread
    assert sent.card is not None and sent.card["refresh"]["userIds"] == ["29:aad-anna"]
    bob.share(sent)
    # Bob's Teams would not refresh it; if it asks, or Bob acts on it, he gets the card as
    # everyone sees it, and nothing is recorded.
    for verb in (REFRESH, UPDATE, SUBMIT):
        seen = await bob.invoke(verb, FORM_ANSWERS["sv"])
        assert not fields(seen) and not executes(seen)
        assert card_texts(seen) == card_texts(sent.card)
    assert await bot.engine.recent_decisions("teams", "aad-bob") == []
    assert await bot.engine.recent_decisions("teams", "aad-anna") == []
    # Anna's own refresh gets the form.
    assert "kind" in fields(await anna.invoke(REFRESH))


async def test_an_invoke_that_is_not_a_form_action_changes_nothing(bot: Bot) -> None:
    anna = user(bot, "en")
    activity = anna.activity(
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": SUBMIT, "data": {FORM: "forged"}}},
    )
    response = await anna.post(activity)
    assert response.status_code == 200
    assert await bot.engine.recent_decisions("teams", "aad-anna") == []


@pytest.mark.parametrize("lang", ["sv", "en"])
async def test_the_forms_decision_has_details_and_share_buttons_that_answer_in_the_chat(
    bot: Bot, lang: Lang
) -> None:
    anna = FormFiller(user(bot, lang))
    await anna.ask("form")
    answers = answers_for(lang)
    last = await anna.fill_in(answers)
    chosen = {f: as_chosen(last, f, answers[f]) for f in fields(last) if f in answers}
    card = await anna.invoke(SUBMIT, chosen)
    buttons = {a["data"].get(CHOICE): a for a in card["actions"] if a["type"] == "Action.Submit"}
    assert set(buttons) == {"details", "share"}
    [recorded] = await bot.engine.recent_decisions("teams", "aad-anna")
    assert anna.card is not None
    sent = await anna.user.submit(anna.card, buttons["details"]["data"])
    title = bot.engine.text("decision.details.title", lang, id=recorded.id, headline="").strip()
    shown = [text for s in sent if s.card is not None for text in card_texts(s.card)]
    assert any(text.startswith(title) for text in shown)
    sent = await anna.user.submit(anna.card, buttons["share"]["data"])
    assert any(f"{recorded.id}" in (s.text or "") for s in sent)
