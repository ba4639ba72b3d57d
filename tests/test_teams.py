"""The Teams channel end to end: activities POSTed to our server, replies and card updates
recorded by a fake Bot Framework connector, all over real HTTP on loopback; token checks against
a fake Bot Framework OpenID endpoint; and the app package."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import struct
import subprocess
import threading
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters import teams
from adapters.channel import Channel
from adapters.teams_cards import (
    ANSWERED,
    CHOICE,
    DONE,
    MAX_BUTTONS,
    PICKED,
    TeamsMessage,
    decision_card,
    details_card,
    render,
)
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from bot.settings import Settings
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import TRIPCHECK, env
from tests.conftest import Chat
from tests.fake_teams import ConnectorCall, FakeBotFrameworkKeys, FakeConnector, card_texts
from tests.servers import running
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK, answer_all
from tripcheck.server import create_app

CLIENT_ID = "3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f"
BOT = {"id": f"28:{CLIENT_ID}", "name": "Tripcheck"}
TENANT = "lulea-tenant"
PERSONAL = "a:1personal-chat-anna"
CHANNEL = "19:general@thread.tacv2"
OUTGOING_TOKEN = "token-for-the-connector"


def teams_settings(**values: str) -> Settings:
    return Settings.model_validate(
        {"TEAMS_CLIENT_ID": CLIENT_ID, "TEAMS_ALLOW_UNAUTHENTICATED": "true", **values}
    )


class TurnWatcher:
    """Records every engine turn, so a test waits for a turn rather than for a while."""

    def __init__(self, engine: Engine) -> None:
        self.turns: list[tuple[ConversationKey, Incoming, list[Outgoing]]] = []
        original = engine.handle

        async def handle(key: ConversationKey, incoming: Incoming, **options: Any) -> Any:
            result = await original(key, incoming, **options)
            self.turns.append((key, incoming, list(result.replies)))
            return result

        engine.handle = handle  # type: ignore[method-assign]

    @property
    def step(self) -> str | None:
        """The step of the latest question asked."""
        for _, _, replies in reversed(self.turns):
            for reply in reversed(replies):
                if reply.type == "question":
                    return reply.step
        return None


@dataclass
class Bot:
    """Our server with the fake connector behind it."""

    url: str
    connector: FakeConnector
    connector_url: str
    engine: Engine
    watcher: TurnWatcher
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_790_000_100_000))

    def next_id(self) -> str:
        return str(next(self._ids))


@dataclass
class TeamsUser:
    """Someone in Teams: builds the activities Teams would send for their typing and clicks,
    posts them, and waits until the bot has answered."""

    bot: Bot
    aad: str = "aad-anna"
    conversation: str = PERSONAL
    kind: str = "personal"
    locale: str | None = "en-US"
    token: str | None = None

    def activity(self, **fields: Any) -> dict[str, Any]:
        activity_id = fields.pop("id", None) or self.bot.next_id()
        activity: dict[str, Any] = {
            "type": "message",
            "id": activity_id,
            "timestamp": "2026-09-21T10:00:00.000Z",
            "serviceUrl": self.bot.connector_url,
            "channelId": "msteams",
            "from": {"id": f"29:{self.aad}", "name": "Anna", "aadObjectId": self.aad},
            "conversation": {
                "id": self.conversation,
                "conversationType": self.kind,
                "tenantId": TENANT,
            },
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}},
        }
        if self.locale:
            activity["locale"] = self.locale
        activity.update(fields)
        return activity

    async def post(self, activity: dict[str, Any]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient() as client:
            return await client.post(f"{self.bot.url}/api/messages", json=activity, headers=headers)

    async def turn(self, activity: dict[str, Any]) -> list[ConnectorCall]:
        """Posts an activity and waits for the bot's turn and every reply it sends."""
        turns, sent = len(self.bot.watcher.turns), len(self.bot.connector.sent)
        response = await self.post(activity)
        assert response.status_code == 200, response.text
        await self.bot.connector.wait_for(lambda: len(self.bot.watcher.turns) > turns)
        replies = self.bot.watcher.turns[turns][2]
        await self.bot.connector.wait_for(
            lambda: len(self.bot.connector.sent) >= sent + len(replies)
        )
        return self.bot.connector.sent[sent:]

    async def say(self, text: str, **fields: Any) -> list[ConnectorCall]:
        return await self.turn(self.activity(text=text, **fields))

    async def submit(self, card: ConnectorCall, data: dict[str, Any]) -> list[ConnectorCall]:
        """Clicks a button of `card`: a message with the button's data (and the card's inputs)
        as its value, in reply to the card's activity, as Teams sends for Action.Submit."""
        activity = self.activity(value=data, replyToId=card.id)
        activity["conversation"]["id"] = card.conversation_id
        return await self.turn(activity)

    async def click(self, value: str) -> list[ConnectorCall]:
        """Clicks the button with this value on the latest card that has it."""
        card = self.bot.connector.last_card(lambda c: _button(c, value) is not None)
        button = _button(card.card or {}, value)
        assert button is not None
        return await self.submit(card, button["data"])


def _button(card: dict[str, Any], value: str) -> dict[str, Any] | None:
    for action in card.get("actions") or []:
        if action.get("data", {}).get(CHOICE) == value:
            return action  # type: ignore[no-any-return]
    return None


def _has_button(card: dict[str, Any], value: str) -> bool:
    return _button(card, value) is not None


def _inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in card["body"] if e["type"] == "Input.ChoiceSet"]


def _action(card: dict[str, Any], key: str) -> dict[str, Any]:
    return next(a for a in card.get("actions", []) if key in a["data"])


@pytest.fixture
async def connector() -> AsyncIterator[tuple[FakeConnector, str]]:
    fake = FakeConnector()
    async with running(fake.app) as url:
        yield fake, url


@contextlib.asynccontextmanager
async def serving(
    rules: RuleSet,
    connector: tuple[FakeConnector, str],
    settings: Settings,
    *,
    places: PlaceIndex | None = None,
    channel: Callable[[Engine], teams.TeamsChannel] | None = None,
) -> AsyncIterator[Bot]:
    """Our server with Teams on; the engine has its own in-memory database, because shutting
    the app down closes the engine's storage."""
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, places=places)
    watcher = TurnWatcher(engine)
    channels: list[Channel] | None = [channel(engine)] if channel is not None else None
    async with running(create_app(settings, engine, channels)) as url:
        yield Bot(url, connector[0], connector[1], engine, watcher)


@pytest.fixture
async def bot(rules: RuleSet, connector: tuple[FakeConnector, str]) -> AsyncIterator[Bot]:
    async with serving(rules, connector, teams_settings()) as served:
        yield served


@pytest.fixture
async def places_bot(
    rules: RuleSet, connector: tuple[FakeConnector, str], place_index: PlaceIndex
) -> AsyncIterator[Bot]:
    async with serving(rules, connector, teams_settings(), places=place_index) as served:
        yield served


YES_NO_OR_MODE = {
    "contributes_development",
    "external_monitoring",
    "influence",
    "physical_necessary",
    "travel_mode",
    "equality_considered",
    "in_annual_plan",
}


async def answer_up_to_confirm(anna: TeamsUser) -> None:
    """The English check of test_conversation: closed questions by clicking, goals by ticking,
    the rest typed; every click replaces its card by the answer."""
    bot = anna.bot
    await anna.say("hello")
    for step, text in ENGLISH_CHECK:
        assert bot.watcher.step == step
        if step == "goals":
            await tick(anna, "9,2")
        elif step == "kind" or step in YES_NO_OR_MODE:
            card = bot.connector.last_card(functools.partial(_has_button, value=text))
            await anna.click(text)
            assert_answered(bot.connector, card)
        else:
            await anna.say(text)
    assert bot.watcher.step == "confirm"


async def answer_until(anna: TeamsUser, stop: str) -> None:
    """Answers the English check by typing, up to the question `stop`."""
    await anna.say("hello")
    for step, text in ENGLISH_CHECK:
        if step == stop:
            break
        await anna.say(text)
    assert anna.bot.watcher.step == stop


async def tick(anna: TeamsUser, values: str) -> list[ConnectorCall]:
    """Ticks goals on the latest multiple-choice card and clicks Done."""
    card = anna.bot.connector.last_card(lambda c: any(i["isMultiSelect"] for i in _inputs(c)))
    done = _action(card.card or {}, DONE)
    data = {**done["data"], PICKED: values} if values else dict(done["data"])
    return await anna.submit(card, data)


def assert_answered(connector: FakeConnector, card: ConnectorCall) -> ConnectorCall:
    """The card was replaced: same question, the answer shown, and no buttons or inputs left."""
    update = next(u for u in reversed(connector.updated) if u.activity_id == card.id)
    assert update.conversation_id == card.conversation_id
    answered = update.card
    assert answered is not None and "actions" not in answered
    assert not _inputs(answered)
    question = (card.card or {})["body"][0]["text"]
    assert answered["body"][0]["text"] == question
    return update


# --- a check in Teams -----------------------------------------------------------------------


async def test_a_whole_check_by_card_clicks_ends_in_a_recorded_decision(places_bot: Bot) -> None:
    anna = TeamsUser(places_bot)
    await answer_up_to_confirm(anna)
    confirm = places_bot.connector.last_card(lambda c: _has_button(c, "save"))
    sent = await anna.click("save")
    assert_answered(places_bot.connector, confirm)
    decision_call = next(c for c in sent if c.card is not None)
    card = decision_call.card or {}
    assert [a["title"] for a in card["actions"]] == ["Details", "Share"]
    texts = decision_call.text
    assert "Recommendation: travel" in texts
    # Reasons with their plan sections and one climate line; the comparison is a detail.
    assert "(Europa (the European Union))" in texts
    assert "Climate: flight as planned ≈ 2,718 kg CO2e" in texts
    assert not any(e["type"] == "FactSet" for e in card["body"])
    assert "Tripcheck recommends; it does not approve." in texts
    saved = sent[-1].text
    assert saved.startswith("Saved (no. ")
    decisions = await places_bot.engine.storage.recent_decisions("teams", "aad-anna")
    assert len(decisions) == 1
    stored = decisions[0]
    assert stored.outcome == "travel" and stored.chat == PERSONAL and stored.lang == "en"
    # Every reply went to Anna's chat.
    assert {c.conversation_id for c in places_bot.connector.calls} == {PERSONAL}


async def test_a_digital_decision_card_in_swedish_shows_what_meeting_online_avoids(
    places_engine: Engine, rules: RuleSet
) -> None:
    chat = Chat(places_engine)
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    result = await places_engine.handle(chat.key, Incoming(text="spara"))
    view = next(reply.view for reply in result.replies if reply.view is not None)
    texts = "\n".join(card_texts(decision_card(view)))
    assert texts.startswith("Rekommendation: mötas digitalt")
    # One climate line, without a "0 kg" row for the digital meeting.
    assert "Klimat: att mötas digitalt sparar ≈ 182 kg CO2e mot planerat flyg" in texts
    assert "0 kg" not in texts and "0,0 kg" not in texts
    assert "Tripcheck rekommenderar; det är inget beslut om godkännande." in texts
    # The details: the climate reason, and the climate rows as facts.
    result = await places_engine.handle(chat.key, Incoming(text="varför?"))
    details = next(reply.details for reply in result.replies if reply.details is not None)
    card = details_card(details)
    texts = "\n".join(card_texts(card))
    assert "Digitalt möte undviker ≈ 182 kg CO2e jämfört med flyg för 2" in texts
    assert "Klimat (kg CO2e tur och retur för hela sällskapet):" in texts
    facts = [f for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]]
    assert [f["title"] for f in facts] == [row.label.capitalize() for row in details.climate]
    assert [f["value"] for f in facts] == [row.value for row in details.climate]
    assert "Flyg: ≈ 182 kg ← planerat" in texts and "Tåg: ≈ 13 kg" in texts
    assert "Digitalt möte: ≈ 0 kg" in texts
    assert "Undviks genom att mötas digitalt: ≈ 182 kg" in texts


async def test_a_click_replaces_the_card_by_the_question_and_the_answer(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await anna.say("hello")
    card = bot.connector.last_card()
    assert [a["title"] for a in (card.card or {})["actions"]] == ["Trip", "Project", "Activity"]
    sent = await anna.click("trip")
    update = assert_answered(bot.connector, card)
    assert update.card is not None
    assert update.card["body"][-1]["text"] == "Your answer: Trip"
    assert bot.watcher.turns[-1][1] == Incoming(choice="trip", step="kind", lang="en")
    assert sent and bot.watcher.step == "title"


async def test_a_stale_click_leaves_its_card_and_asks_the_current_question(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await anna.say("hello")
    kind_card = bot.connector.last_card()
    await anna.click("trip")
    updates = len(bot.connector.updated)
    button = _button(kind_card.card or {}, "project")
    assert button is not None
    # The old card's buttons were removed in Teams; a client that still shows them sends this.
    sent = await anna.submit(kind_card, button["data"])
    assert "That button belongs to an earlier question." in sent[0].text
    assert bot.watcher.step == "title"
    state = await bot.engine.storage.load_conversation(bot.watcher.turns[-1][0])
    assert state is not None and state.answers["kind"].value == "trip"
    # The card still shows the answer it was given, not the stale click.
    assert not [u for u in bot.connector.updated[updates:] if u.activity_id == kind_card.id]
    answered = next(u for u in reversed(bot.connector.updated) if u.activity_id == kind_card.id)
    assert answered.card is not None and answered.card["body"][-1]["text"] == "Your answer: Trip"


async def test_goals_are_ticked_on_a_multiple_choice_card_and_done(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await answer_until(anna, "goals")
    card = bot.connector.last_card(lambda c: bool(_inputs(c)))
    choice_set = _inputs(card.card or {})[0]
    assert choice_set["isMultiSelect"] is True and choice_set["id"] == PICKED
    assert [c["value"] for c in choice_set["choices"]] == [str(n) for n in range(1, 10)]
    assert [a["title"] for a in (card.card or {})["actions"]] == ["None", "Done"]
    await tick(anna, "5,8")
    assert bot.watcher.turns[-1][1].choice == "5,8"
    assert bot.watcher.step == "physical_necessary"
    update = assert_answered(bot.connector, card)
    assert update.card is not None
    assert update.card["body"][-1]["text"] == (
        "Your answer: 5 No climate impact, 8 A leading hub for growth and innovation"
    )


async def test_done_with_nothing_ticked_answers_none(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await answer_until(anna, "goals")
    await tick(anna, "")
    assert bot.watcher.turns[-1][1].choice == "none"
    state = await bot.engine.storage.load_conversation(bot.watcher.turns[-1][0])
    assert state is not None and state.answers["goals"].value == []
    assert bot.watcher.step != "goals"


async def test_many_choices_come_as_a_list_with_a_choose_button(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await answer_up_to_confirm(anna)
    await anna.click("change")
    card = bot.connector.last_card(lambda c: bool(_inputs(c)))
    choice_set = _inputs(card.card or {})[0]
    assert choice_set["id"] == CHOICE and choice_set["style"] == "compact"
    assert len(choice_set["choices"]) > MAX_BUTTONS
    choose = (card.card or {})["actions"][0]
    assert choose["title"] == "Choose" and CHOICE not in choose["data"]
    # Teams sends the chosen item under the list's id, with the button's data.
    await anna.submit(card, {**choose["data"], CHOICE: "title"})
    assert bot.watcher.step == "title"
    update = assert_answered(bot.connector, card)
    assert update.card is not None and update.card["body"][-1]["text"] == "Your answer: Title"


async def test_typed_answers_work_and_questions_without_buttons_are_plain_text(bot: Bot) -> None:
    anna = TeamsUser(bot)
    await anna.say("hello")
    sent = await anna.say("trip")
    assert bot.watcher.step == "title"
    question = sent[-1]
    assert question.card is None and question.activity["textFormat"] == "xml"
    assert question.text.startswith("What is it called, in short?")
    await anna.say("Study visit")
    assert bot.watcher.step == "department"


def test_plain_messages_show_text_as_it_is(engine: Engine) -> None:
    labels = teams.card_labels(engine, "en")
    message = render(Outgoing("message", "a <b>title</b> & more\nnext line"), labels, "u")
    assert message.card is None
    assert message.text == "a &lt;b&gt;title&lt;/b&gt; &amp; more<br>next line"
    error = render(Outgoing("error", "oops"), labels, "u")
    assert error.text == "⚠️ oops"


async def test_a_swedish_teams_gets_swedish(bot: Bot) -> None:
    anna = TeamsUser(bot, locale="sv-SE")
    # A greeting in either language would decide by itself; a wave leaves it to the locale.
    sent = await anna.say("👋")
    assert sent[0].text.startswith("Hej! Jag hjälper dig")
    card = bot.connector.last_card()
    assert [a["title"] for a in (card.card or {})["actions"]] == ["Resa", "Projekt", "Aktivitet"]
    await anna.click("trip")
    update = assert_answered(bot.connector, card)
    assert update.card is not None and update.card["body"][-1]["text"] == "Ditt svar: Resa"
    assert bot.watcher.turns[0][1].lang == "sv"


async def test_an_english_teams_gets_english(bot: Bot) -> None:
    sent = await TeamsUser(bot, locale="en-GB").say("👋")
    assert sent[0].text.startswith("Hi! I help you")


async def test_a_mention_in_a_channel_answers_in_the_thread_of_the_post(bot: Bot) -> None:
    thread = f"{CHANNEL};messageid=1790000000042"
    anna = TeamsUser(bot, conversation=thread, kind="channel")
    mention = {"type": "mention", "text": "<at>Tripcheck</at>", "mentioned": BOT}
    sent = await anna.say("<at>Tripcheck</at> trip", id="1790000000042", entities=[mention])
    # The mention is not part of the answer: "trip" chose the kind, so the title comes next.
    assert bot.watcher.turns[0][1].text == "trip"
    assert bot.watcher.step == "title"
    assert {c.conversation_id for c in sent} == {thread}
    key = ConversationKey("teams", CHANNEL, "aad-anna")
    assert bot.watcher.turns[0][0] == key
    assert await bot.engine.storage.load_conversation(key) is not None


async def test_a_new_channel_post_without_a_thread_id_starts_its_thread(bot: Bot) -> None:
    anna = TeamsUser(bot, conversation=CHANNEL, kind="channel")
    mention = {"type": "mention", "text": "<at>Tripcheck</at>", "mentioned": BOT}
    sent = await anna.say("<at>Tripcheck</at> hello", id="1790000000077", entities=[mention])
    assert {c.conversation_id for c in sent} == {f"{CHANNEL};messageid=1790000000077"}


async def test_in_a_channel_only_the_person_asked_can_answer_a_card(bot: Bot) -> None:
    thread = f"{CHANNEL};messageid=1790000000050"
    anna = TeamsUser(bot, conversation=thread, kind="channel")
    bob = TeamsUser(bot, aad="aad-bob", conversation=thread, kind="channel")
    mention = {"type": "mention", "text": "<at>Tripcheck</at>", "mentioned": BOT}
    await anna.say("<at>Tripcheck</at> hello", entities=[mention])
    card = bot.connector.last_card()
    button = _button(card.card or {}, "trip")
    assert button is not None and button["data"][ANSWERED]["user"] == "aad-anna"
    turns, calls = len(bot.watcher.turns), len(bot.connector.calls)
    assert (
        await bob.post(bob.activity(value=button["data"], replyToId=card.id))
    ).status_code == 200
    # Anna's next message is handled after Bob's click; the click changed nothing: her card
    # is not answered, it only loses its buttons because her turn asks the question anew.
    await anna.say("<at>Tripcheck</at> status", entities=[mention])
    assert len(bot.watcher.turns) == turns + 1
    updates = [c for c in bot.connector.calls[calls:] if c.activity_id == card.id]
    assert [card_texts(u.card) for u in updates] == [
        card_texts({"body": (card.card or {})["body"]})
    ]
    key = ConversationKey("teams", CHANNEL, "aad-bob")
    assert await bot.engine.storage.load_conversation(key) is None


async def test_adding_the_personal_app_opens_with_the_first_question(bot: Bot) -> None:
    anna = TeamsUser(bot, locale=None)
    update = anna.activity(type="conversationUpdate", membersAdded=[BOT])
    sent = await anna.turn(update)
    assert sent[-1].card is not None and _has_button(sent[-1].card, "trip")
    # Without a locale the engine's default language (Swedish) applies.
    assert sent[0].text.startswith("Hej!")


async def test_someone_else_joining_a_chat_gets_no_greeting(bot: Bot) -> None:
    anna = TeamsUser(bot)
    joined = anna.activity(type="conversationUpdate", membersAdded=[{"id": "29:aad-bob"}])
    assert (await anna.post(joined)).status_code == 200
    await anna.say("hello")
    assert [turn[1].text for turn in bot.watcher.turns] == ["hello"]


async def test_a_redelivered_activity_is_handled_once(bot: Bot) -> None:
    anna = TeamsUser(bot)
    first = anna.activity(text="hello")
    await anna.turn(first)
    assert (await anna.post(first)).status_code == 200
    # Activities of one user are handled in order: once this one is answered, the copy was too.
    await anna.say("trip")
    assert [turn[1].text for turn in bot.watcher.turns] == ["hello", "trip"]


async def test_the_same_activity_id_in_another_conversation_is_not_a_redelivery(
    bot: Bot,
) -> None:
    anna = TeamsUser(bot)
    bob = TeamsUser(bot, aad="aad-bob", conversation="a:1personal-chat-bob")
    await anna.say("hello", id="1790000000001")
    await bob.say("hello", id="1790000000001")
    assert len(bot.watcher.turns) == 2


async def test_a_users_quick_messages_are_handled_in_order(
    bot: Bot, storage: SQLiteStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    claim = storage.claim_delivery

    async def slow_first(source: str, delivery: str, now: float) -> bool:
        if delivery.endswith("|1790000000901"):
            await asyncio.sleep(0.2)
        return await claim(source, delivery, now)

    monkeypatch.setattr(storage, "claim_delivery", slow_first)
    anna = TeamsUser(bot)
    for activity_id, text in (("1790000000901", "hello"), ("1790000000902", "trip")):
        assert (await anna.post(anna.activity(id=activity_id, text=text))).status_code == 200
    await bot.connector.wait_for(lambda: len(bot.watcher.turns) == 2)
    assert [turn[1].text for turn in bot.watcher.turns] == ["hello", "trip"]


async def test_a_throttled_reply_is_sent_again(bot: Bot) -> None:
    bot.connector.refuse_next = [429]
    sent = await TeamsUser(bot).say("hello")
    assert sent[0].text.startswith("Hi! I help you")


async def test_a_lost_reply_does_not_stop_the_rest_of_the_turn(bot: Bot) -> None:
    bot.connector.refuse_next = [500]
    anna = TeamsUser(bot)
    assert (await anna.post(anna.activity(text="hello"))).status_code == 200
    # The greeting is refused; the question after it still arrives.
    await bot.connector.wait_for(lambda: any(c.card is not None for c in bot.connector.sent))
    assert len(bot.connector.sent) == 1


async def test_replies_go_without_a_token_in_unauthenticated_mode(bot: Bot) -> None:
    sent = await TeamsUser(bot).say("hello")
    assert all(call.authorization is None for call in sent)


async def test_shutdown_waits_for_an_activity_in_progress(
    rules: RuleSet, connector: tuple[FakeConnector, str]
) -> None:
    fake = connector[0]
    async with serving(rules, connector, teams_settings()) as bot:
        original = bot.engine.handle

        async def slow(key: ConversationKey, incoming: Incoming, **options: Any) -> Any:
            await asyncio.sleep(0.3)
            return await original(key, incoming, **options)

        bot.engine.handle = slow  # type: ignore[method-assign]
        anna = TeamsUser(bot)
        assert (await anna.post(anna.activity(text="hello"))).status_code == 200
        assert not fake.sent
    assert fake.sent and fake.sent[0].text.startswith("Hi!")


async def test_the_server_is_ready_before_the_sdk_and_an_early_activity_waits_for_it(
    rules: RuleSet, connector: tuple[FakeConnector, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK is imported on a thread once the server starts: /readyz answers meanwhile, and
    an activity sent before the SDK is in is answered once it is, not refused or lost."""
    sdk_in = threading.Event()
    load = teams._load_sdk

    def slow_load() -> None:
        sdk_in.wait(10)
        load()

    monkeypatch.setattr(teams, "_load_sdk", slow_load)
    async with serving(rules, connector, teams_settings()) as bot:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{bot.url}/readyz")).status_code == 200
        anna = TeamsUser(bot)
        early = asyncio.create_task(anna.post(anna.activity(text="hello")))
        await asyncio.sleep(0.3)
        assert not early.done() and not bot.watcher.turns
        sdk_in.set()
        assert (await early).status_code == 200
        await bot.connector.wait_for(lambda: bool(bot.connector.sent))
        assert bot.connector.sent[0].text.startswith("Hi!")


async def test_without_its_sdk_teams_answers_503_and_the_log_says_why(
    rules: RuleSet,
    connector: tuple[FakeConnector, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken install: Bot Framework is told to try again later, never a 500."""

    def broken() -> None:
        raise ImportError("No module named 'microsoft_teams'")

    monkeypatch.setattr(teams, "_load_sdk", broken)
    async with serving(rules, connector, teams_settings()) as bot:
        anna = TeamsUser(bot)
        response = await anna.post(anna.activity(text="hello"))
    assert response.status_code == 503 and not bot.watcher.turns
    assert any(r.levelname == "CRITICAL" and "Teams SDK" in r.getMessage() for r in caplog.records)


async def test_bad_requests_are_refused_without_a_turn(bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        malformed = await client.post(f"{bot.url}/api/messages", content=b"{not json")
        too_large = await client.post(
            f"{bot.url}/api/messages", content=b" " * (teams.MAX_BODY + 1)
        )
        no_service_url = TeamsUser(bot).activity(text="hello")
        del no_service_url["serviceUrl"]
        ignored = await client.post(f"{bot.url}/api/messages", json=no_service_url)
        typing = await client.post(
            f"{bot.url}/api/messages", json=TeamsUser(bot).activity(type="typing")
        )
    assert malformed.status_code == 400 and too_large.status_code == 413
    assert ignored.status_code == 200 and typing.status_code == 200
    await TeamsUser(bot).say("hello")
    assert len(bot.watcher.turns) == 1


async def test_activities_from_another_tenant_are_ignored(
    rules: RuleSet, connector: tuple[FakeConnector, str]
) -> None:
    async with serving(rules, connector, teams_settings(TEAMS_TENANT_ID=TENANT)) as bot:
        stranger = TeamsUser(bot, aad="aad-stranger")
        foreign = stranger.activity(text="hello")
        foreign["conversation"]["tenantId"] = "another-tenant"
        assert (await stranger.post(foreign)).status_code == 200
        await stranger.say("hello")
        assert len(bot.watcher.turns) == 1


@pytest.mark.parametrize(
    "body",
    [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 40_000 + b"1" + b"}" * 40_000],
    ids=["arrays", "objects"],
)
async def test_deeply_nested_json_is_a_bad_request(bot: Bot, body: bytes) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{bot.url}/api/messages", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    await TeamsUser(bot).say("hello")
    assert len(bot.watcher.turns) == 1


# --- the Bot Connector ----------------------------------------------------------------------


@dataclass
class Waits:
    """Stands in for asyncio.sleep: records how long the connector would wait."""

    seconds: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.mark.parametrize("status", [429, 412, 502, 504])
@pytest.mark.parametrize(
    ("retry_after", "waited"), [(None, [0.5, 1.0, 2.0]), ("3", [3.0, 3.0, 3.0])]
)
async def test_the_connector_retries_what_microsoft_asks_to_with_backoff(
    connector: tuple[FakeConnector, str], status: int, retry_after: str | None, waited: list[float]
) -> None:
    fake, url = connector
    fake.refuse_next = [status] * 3
    fake.retry_after = retry_after
    waits = Waits()
    # The largest jitter: each wait is the whole backoff (or what Retry-After names).
    client = teams.Connector(None, sleep=waits, jitter=lambda: 1.0)
    sent = await client.send(url, PERSONAL, TeamsMessage(text="hello"))
    await client.close()
    assert fake.refused == [status] * 3 and waits.seconds == waited
    assert sent is not None and [c.id for c in fake.sent] == [sent]


async def test_the_backoff_is_jittered_and_given_up_after_the_last_attempt(
    connector: tuple[FakeConnector, str],
) -> None:
    fake, url = connector
    fake.refuse_next = [502] * teams.ATTEMPTS
    fake.retry_after = None
    waits = Waits()
    client = teams.Connector(None, sleep=waits, jitter=lambda: 0.0)
    assert await client.send(url, PERSONAL, TeamsMessage(text="hello")) is None
    await client.close()
    assert waits.seconds == [0.25, 0.5, 1.0]  # half of each backoff, the smallest jitter
    assert fake.sent == []


@pytest.mark.parametrize("status", [400, 403, 500])
async def test_other_connector_errors_are_not_retried(
    connector: tuple[FakeConnector, str], status: int
) -> None:
    fake, url = connector
    fake.refuse_next = [status]
    waits = Waits()
    client = teams.Connector(None, sleep=waits)
    assert await client.send(url, PERSONAL, TeamsMessage(text="hello")) is None
    await client.close()
    assert fake.refused == [status] and waits.seconds == [] and fake.sent == []


# --- authentication -------------------------------------------------------------------------


@dataclass
class StaticTokens:
    """Stands in for MSAL: the token the bot sends to the connector."""

    token: str = OUTGOING_TOKEN

    async def get_app_token(self, scope: str, tenant_id: str | None = None) -> str:
        return self.token


@pytest.fixture
async def keys() -> AsyncIterator[FakeBotFrameworkKeys]:
    fake = FakeBotFrameworkKeys()
    async with running(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture
async def secured_bot(
    rules: RuleSet, connector: tuple[FakeConnector, str], keys: FakeBotFrameworkKeys
) -> AsyncIterator[Bot]:
    """Authentication on, with Bot Framework's signing keys served by the fake."""

    def channel(engine: Engine) -> teams.TeamsChannel:
        auth = teams.BotFrameworkAuth(CLIENT_ID, openid_metadata_url=keys.metadata_url)
        return teams.TeamsChannel(engine, teams.Connector(StaticTokens()), auth)

    async with serving(rules, connector, SECURED, channel=channel) as served:
        yield served


SECURED = Settings.model_validate({"TEAMS_CLIENT_ID": CLIENT_ID, "TEAMS_CLIENT_SECRET": "secret"})


async def test_a_valid_bot_framework_token_is_accepted_and_replies_carry_a_token(
    secured_bot: Bot, keys: FakeBotFrameworkKeys
) -> None:
    anna = TeamsUser(secured_bot, token=keys.token(CLIENT_ID, secured_bot.connector_url))
    sent = await anna.say("hello")
    assert sent[0].text.startswith("Hi! I help you")
    assert {c.authorization for c in sent} == {f"Bearer {OUTGOING_TOKEN}"}


BAD_TOKENS: dict[str, dict[str, Any]] = {
    "wrong audience": {"audience": "another-bot"},
    "wrong issuer": {"issuer": "https://sts.example.com"},
    "expired": {"lifetime": -3600},
    "no expiry": {"expires": False},
    "another key": {"key": rsa.generate_private_key(public_exponent=65537, key_size=2048)},
    "unknown key id": {"kid": "some-other-key"},
    "another serviceUrl": {"service_url": "https://attacker.example.com/"},
}


@pytest.mark.parametrize("bad", BAD_TOKENS, ids=list(BAD_TOKENS))
async def test_a_token_that_is_not_for_this_bot_is_refused_and_changes_nothing(
    secured_bot: Bot, keys: FakeBotFrameworkKeys, bad: str
) -> None:
    claims = dict(BAD_TOKENS[bad])
    service_url = claims.pop("service_url", secured_bot.connector_url)
    forged = TeamsUser(
        secured_bot, token=keys.token(claims.pop("audience", CLIENT_ID), service_url, **claims)
    )
    response = await forged.post(forged.activity(text="hello"))
    assert response.status_code == 401
    await assert_nothing_changed(secured_bot, keys)


@pytest.mark.parametrize("authorization", ["", "Bearer", "Bearer not.a.jwt", "Basic YTpi"])
async def test_a_missing_or_malformed_token_is_refused(
    secured_bot: Bot, keys: FakeBotFrameworkKeys, authorization: str
) -> None:
    activity = TeamsUser(secured_bot).activity(text="hello")
    headers = {"Authorization": authorization} if authorization else {}
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{secured_bot.url}/api/messages", json=activity, headers=headers
        )
    assert response.status_code == 401
    await assert_nothing_changed(secured_bot, keys)


async def assert_nothing_changed(bot: Bot, keys: FakeBotFrameworkKeys) -> None:
    """No turn, no reply, no saved state; and a genuine message afterwards is the first turn."""
    key = ConversationKey("teams", PERSONAL, "aad-anna")
    assert await bot.engine.storage.load_conversation(key) is None
    assert not bot.connector.calls
    anna = TeamsUser(bot, token=keys.token(CLIENT_ID, bot.connector_url))
    await anna.say("trip")
    assert [turn[1].text for turn in bot.watcher.turns] == ["trip"]


async def test_a_token_is_refused_with_503_while_the_signing_keys_are_unavailable(
    secured_bot: Bot, keys: FakeBotFrameworkKeys
) -> None:
    keys.available = False
    anna = TeamsUser(secured_bot, token=keys.token(CLIENT_ID, secured_bot.connector_url))
    response = await anna.post(anna.activity(text="hello"))
    assert response.status_code == 503
    keys.available = True
    await anna.say("hello")
    assert len(secured_bot.watcher.turns) == 1


async def test_with_the_settings_authentication_is_on_and_no_token_means_401(
    rules: RuleSet, connector: tuple[FakeConnector, str]
) -> None:
    async with serving(rules, connector, SECURED) as bot:
        user = TeamsUser(bot)
        assert (await user.post(user.activity(text="hello"))).status_code == 401
        # Not even a JWT: refused before any signing key is looked up.
        user.token = "garbage"
        assert (await user.post(user.activity(text="hello"))).status_code == 401
        assert not bot.watcher.turns and not bot.connector.calls


class FakeMsal:
    """Stands in for msal.ConfidentialClientApplication; records where it was called from."""

    made: ClassVar[list[tuple[str, str]]] = []
    threads: ClassVar[list[int]] = []
    answer: ClassVar[dict[str, str]] = {"access_token": "from-entra"}

    def __init__(self, client_id: str, client_credential: str, authority: str, timeout: float):
        FakeMsal.made.append((client_id, authority))

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, str]:
        FakeMsal.threads.append(threading.get_ident())
        assert scopes == ["https://api.botframework.com/.default"]
        return FakeMsal.answer


async def test_connector_tokens_come_from_msal_in_a_worker_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import msal  # type: ignore[import-untyped]

    monkeypatch.setattr(msal, "ConfidentialClientApplication", FakeMsal)
    monkeypatch.setattr(FakeMsal, "made", [])
    monkeypatch.setattr(FakeMsal, "threads", [])
    tokens = teams.ConnectorTokens(CLIENT_ID, "secret", TENANT)
    scope = "https://api.botframework.com/.default"
    assert await tokens.get_app_token(scope) == "from-entra"
    assert await tokens.get_app_token(scope) == "from-entra"
    # One MSAL client (it caches the token), used outside the event loop's thread.
    assert FakeMsal.made == [(CLIENT_ID, f"https://login.microsoftonline.com/{TENANT}")]
    assert threading.get_ident() not in FakeMsal.threads
    await teams.ConnectorTokens(CLIENT_ID, "secret", None).get_app_token(scope)
    assert FakeMsal.made[-1] == (CLIENT_ID, "https://login.microsoftonline.com/botframework.com")
    monkeypatch.setattr(FakeMsal, "answer", {"error_description": "AADSTS7000215: bad secret"})
    with pytest.raises(teams.ConnectorAuthError, match="AADSTS7000215"):
        await tokens.get_app_token(scope)


# --- when the channel is on -----------------------------------------------------------------


def test_the_channel_is_off_without_a_client_id(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tripcheck.teams"):
        assert teams.channel(Settings.model_validate({}), engine) is None
    assert "channel off: set TEAMS_CLIENT_ID" in caplog.text


def test_the_channel_is_off_without_a_client_secret(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.model_validate({"TEAMS_CLIENT_ID": CLIENT_ID})
    with caplog.at_level(logging.INFO, logger="tripcheck.teams"):
        assert teams.channel(settings, engine) is None
    assert "TEAMS_CLIENT_SECRET" in caplog.text


def test_with_credentials_the_channel_checks_bot_framework_tokens(engine: Engine) -> None:
    settings = Settings.model_validate(
        {"TEAMS_CLIENT_ID": CLIENT_ID, "TEAMS_CLIENT_SECRET": "secret"}
    )
    channel = teams.channel(settings, engine)
    assert channel is not None and isinstance(channel.auth, teams.BotFrameworkAuth)
    assert [route.path for route in channel.routes] == ["/api/messages"]  # type: ignore[attr-defined]


async def test_unauthenticated_mode_warns_loudly_at_start(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    channel = teams.channel(
        Settings.model_validate({"TEAMS_ALLOW_UNAUTHENTICATED": "true"}), engine
    )
    assert channel is not None and isinstance(channel.auth, teams.AllowUnauthenticated)
    with caplog.at_level(logging.WARNING, logger="tripcheck.teams"):
        await channel.start()
    warning = next(r for r in caplog.records if "TEAMS_ALLOW_UNAUTHENTICATED" in r.getMessage())
    assert warning.levelno == logging.WARNING and "never in production" in warning.getMessage()
    await channel.stop()


async def test_the_server_lists_teams_when_it_is_on(bot: Bot) -> None:
    async with httpx.AsyncClient() as client:
        ready = (await client.get(f"{bot.url}/readyz")).json()
    assert "teams" in ready["channels"]


# --- the app package ------------------------------------------------------------------------


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA PNG without filters (as we write them);
    fails on a bad signature or chunk checksum."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    idat = b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        content = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + content), kind
        chunks[kind] = content
        idat += content if kind == b"IDAT" else b""
        position += 12 + length
    assert b"IEND" in chunks
    width, height, depth, color_type, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color_type) == (8, 6)
    raw = zlib.decompress(idat)
    stride = 1 + width * 4
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + x * 4 : 5 + x * 4]) for x in range(width)])
    return width, height, rows


def test_the_package_holds_a_complete_manifest_and_icons_of_the_right_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "tripcheck-teams.zip"
    status = teams.write_package(output, Settings.model_validate({"TEAMS_CLIENT_ID": CLIENT_ID}))
    assert status == 0
    assert str(output) in capsys.readouterr().out
    with zipfile.ZipFile(output) as package:
        files = {name: package.read(name) for name in package.namelist()}
    manifest = json.loads(files["manifest.json"])
    for name in ("$schema", "manifestVersion", "version", "id", "developer", "name"):
        assert manifest[name], name
    for name in ("description", "icons", "accentColor", "bots", "validDomains"):
        assert name in manifest, name
    assert tuple(int(n) for n in manifest["manifestVersion"].split(".")) >= (1, 16)
    assert manifest["$schema"].endswith(
        f"v{manifest['manifestVersion']}/MicrosoftTeams.schema.json"
    )
    assert manifest["id"] == CLIENT_ID
    assert set(manifest["developer"]) == {"name", "websiteUrl", "privacyUrl", "termsOfUseUrl"}
    assert all(
        manifest["developer"][k].startswith("https://")
        for k in ("websiteUrl", "privacyUrl", "termsOfUseUrl")
    )
    assert manifest["name"]["short"] == "Tripcheck" and len(manifest["name"]["full"]) <= 100
    assert 0 < len(manifest["description"]["short"]) <= 80
    assert 0 < len(manifest["description"]["full"]) <= 4000
    assert manifest["accentColor"].startswith("#") and len(manifest["accentColor"]) == 7
    assert manifest["bots"] == [
        {
            "botId": CLIENT_ID,
            "scopes": ["personal", "team"],
            "supportsFiles": False,
            "isNotificationOnly": False,
        }
    ]
    assert manifest["validDomains"] == []
    # Swedish Teams shows the Swedish texts.
    assert manifest["localizationInfo"]["additionalLanguages"] == [
        {"languageTag": "sv", "file": "sv.json"}
    ]
    swedish = json.loads(files["sv.json"])
    assert (
        swedish["description.short"].startswith("Stämmer resan")
        and len(swedish["description.short"]) <= 80
    )
    assert len(swedish["name.full"]) <= 100
    width, height, color = read_png(files[manifest["icons"]["color"]])
    assert (width, height) == (192, 192)
    assert all(pixel[3] == 255 for row in color for pixel in row)
    width, height, outline = read_png(files[manifest["icons"]["outline"]])
    assert (width, height) == (32, 32)
    # White on transparency, as Teams requires of the outline icon.
    assert outline[0][0][3] == 0 and outline[8][16][3] == 0  # a corner; inside the ring
    assert any(pixel[3] == 255 for row in outline for pixel in row)
    assert all(pixel[:3] == (255, 255, 255) for row in outline for pixel in row)


@pytest.mark.parametrize("client_id", [None, "", "not-a-guid"])
def test_the_package_needs_the_bots_client_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], client_id: str | None
) -> None:
    values = {} if client_id is None else {"TEAMS_CLIENT_ID": client_id}
    output = tmp_path / "package.zip"
    assert teams.write_package(output, Settings.model_validate(values)) == 2
    assert "TEAMS_CLIENT_ID" in capsys.readouterr().err
    assert not output.exists()


def test_the_package_command_writes_the_zip(tmp_path: Path) -> None:
    output = tmp_path / "out.zip"
    done = subprocess.run(
        [TRIPCHECK, "teams-package", "--output", str(output)],
        env=env(tmp_path / "t.db", TEAMS_CLIENT_ID=CLIENT_ID),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(output) in done.stdout
    with zipfile.ZipFile(output) as package:
        assert {"manifest.json", "color.png", "outline.png"} <= set(package.namelist())
    missing = subprocess.run(
        [TRIPCHECK, "teams-package", "--output", str(tmp_path / "none.zip")],
        env=env(tmp_path / "t.db", TEAMS_CLIENT_ID=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2 and "TEAMS_CLIENT_ID" in missing.stderr
