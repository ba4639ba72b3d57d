"""The Telegram channel end to end: our server and a fake Bot API, over real HTTP on loopback."""

from __future__ import annotations

import argparse
import asyncio
import copy
import html
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters import telegram
from adapters.telegram_render import MAX_CALLBACK_DATA, Answer, Done, Keyboards, Toggle, toggled
from bot.engine import Engine
from bot.messages import Choice, ConversationKey, Incoming, Outgoing, TurnResult
from bot.settings import Settings
from bot.storage import StorageError
from rules.fields import FIELDS
from rules.models import Lang
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import PLACES_CACHE
from tests.fake_telegram import FakeTelegram, parse_html, utf16_length
from tests.servers import free_port, running
from tripcheck import telegram_cli
from tripcheck.server import create_app

SECRET = "s"
TOKEN = "123:abc"


def telegram_settings(api_url: str, **values: str) -> Settings:
    return Settings.model_validate(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_URL": api_url,
            **values,
        }
    )


class TurnWatcher:
    """Records every engine turn, so a test waits for a turn rather than for a while."""

    def __init__(self, engine: Engine) -> None:
        self.turns: list[tuple[Incoming, list[Outgoing]]] = []
        original = engine.handle

        async def handle(key: ConversationKey, incoming: Incoming, **options: Any) -> Any:
            result = await original(key, incoming, **options)
            self.turns.append((incoming, list(result.replies)))
            return result

        engine.handle = handle  # type: ignore[method-assign]


@dataclass
class Bot:
    """Our server (webhook mode) with the fake Bot API behind it."""

    url: str
    fake: FakeTelegram
    engine: Engine
    watcher: TurnWatcher


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeTelegram, str]]:
    api = FakeTelegram(TOKEN)
    async with running(api.app) as url:
        yield api, url


@pytest.fixture
async def tripcheck(rules: RuleSet, fake: tuple[FakeTelegram, str]) -> AsyncIterator[Bot]:
    # Its own in-memory database: shutting the app down closes the engine's storage.
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage)
    watcher = TurnWatcher(engine)
    api, api_url = fake
    async with running(create_app(telegram_settings(api_url), engine)) as url:
        yield Bot(url, api, engine, watcher)


@dataclass
class TelegramUser:
    """A Telegram user writing to the bot in a private chat (chat id = user id).

    Without a server (long polling) the user's updates are pushed to the fake's queue."""

    fake: FakeTelegram
    server: Bot | None = None
    user_id: int = 4242
    language_code: str | None = "en"
    _message_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10_000)))

    @property
    def key(self) -> ConversationKey:
        return ConversationKey("telegram", str(self.user_id), str(self.user_id))

    def user(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": "Giulia"}
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def message_update(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 1_790_000_000,
            "chat": {"id": self.user_id, "type": "private"},
            "from": self.user(),
            "text": text,
        }
        if text.startswith("/"):
            command = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command}]
        return {"update_id": self.fake.new_update_id(), "message": message}

    def button_update(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        message = message or self.keyboard_message()
        data = next(
            button["callback_data"]
            for row in message["reply_markup"]["inline_keyboard"]
            for button in row
            if button["text"].removeprefix("✓ ") == label
        )
        query = {
            "id": f"q{self.fake.new_update_id()}",
            "from": self.user(),
            "chat_instance": "ci",
            "data": data,
            "message": message,
        }
        return {"update_id": self.fake.new_update_id(), "callback_query": query}

    def sent(self) -> list[dict[str, Any]]:
        return self.fake.sent(self.user_id)

    def keyboard_message(self) -> dict[str, Any]:
        """The latest message with buttons."""
        return next(m for m in reversed(self.sent()) if "reply_markup" in m)

    def labels(self, message: dict[str, Any] | None = None) -> list[str]:
        message = message or self.keyboard_message()
        return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        assert self.server is not None
        async with httpx.AsyncClient() as client:
            return await client.post(
                f"{self.server.url}/telegram/webhook", json=update, headers=headers
            )

    async def deliver(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Posts an update that makes one engine turn; the messages the turn sent."""
        assert self.server is not None
        watcher = self.server.watcher
        before = len(self.sent())
        turns = len(watcher.turns)
        response = await self.post(update)
        assert response.status_code == 200
        await self.fake.wait_for(lambda: len(watcher.turns) > turns)
        expected = before + len(watcher.turns[turns][1])
        await self.fake.wait_for(lambda: len(self.sent()) >= expected)
        return self.sent()[before:]

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.deliver(self.message_update(text))

    async def press(
        self, label: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        return await self.deliver(self.button_update(label, message))

    async def tick(self, label: str) -> dict[str, Any]:
        """Presses a toggle button; the message after its keyboard was updated."""
        edits = len(self.fake.calls_to("editMessageReplyMarkup"))
        update = self.button_update(label)
        assert (await self.post(update)).status_code == 200
        await self.fake.wait_for(lambda: len(self.fake.calls_to("editMessageReplyMarkup")) > edits)
        message_id = update["callback_query"]["message"]["message_id"]
        return self.fake.messages[(self.user_id, message_id)]

    def question(self, messages: list[dict[str, Any]]) -> str:
        return str(messages[-1]["text"])


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


SWEDISH_TYPED = [
    ("q.kind", "resa"),
    ("q.title", "Styrelsemöte i Bottenviksbågen"),
    ("q.organisation", "Uleåborgs stad"),
    ("q.partner", "bottenviksbagen"),
    ("q.destination.home", "Uleåborg"),  # Bottenviksbågen's own town is offered
    ("q.contributes_development", "ja"),
    ("q.goals", "8"),
    ("q.physical_necessary", "nej"),
    ("q.digital_alternative", "ja"),
    ("q.travellers", "2"),
    ("q.travel_mode", "flyg"),
    # Equality and Luleå's annual plan: one list to tick (its text lists them).
    ("q.prepared", "alla"),
]


async def test_a_check_by_buttons_in_english_records_a_partner_contact_decision(
    tripcheck: Bot, rules: RuleSet
) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck, language_code="en-GB")
    fake = tripcheck.fake

    replies = await user.say("/start")
    assert replies[0]["text"] == rules.text("greeting", "en")
    assert user.question(replies) == rules.text("q.kind", "en")
    assert user.labels() == ["Trip", "Project", "Activity"]
    kind_message = user.keyboard_message()

    press = user.button_update("Trip")
    replies = await user.deliver(press)
    answered_query = fake.calls_to("answerCallbackQuery")[-1]["callback_query_id"]
    assert answered_query == press["callback_query"]["id"]
    # The question now shows the answer, and its buttons are gone.
    answered = fake.messages[(user.user_id, kind_message["message_id"])]
    assert answered["text"] == f"{rules.text('q.kind', 'en')} — Trip"
    assert "reply_markup" not in answered
    assert user.question(replies) == rules.text("q.title", "en")

    replies = await user.say("Study visit on social economy")
    assert user.question(replies) == rules.text("q.organisation", "en")
    replies = await user.say("City of Bologna")
    assert user.question(replies) == rules.text("q.partner", "en")
    await user.say("Sweden Emilia Romagna Network")
    assert user.labels() == ["Bologna"]  # the partner's home town, offered as a button
    await user.press("Bologna")
    await user.press("No")
    replies = await user.press("Yes")
    assert user.question(replies).startswith(rules.text("q.goals", "en", goals="")[:40])

    goals = {g.number: f"{g.number} {g.name('en')}" for g in rules.plan.goals}
    await user.tick(goals[9])
    await user.tick(goals[5])
    message = await user.tick(goals[2])
    assert f"✓ {goals[2]}" in user.labels(message) and goals[1] in user.labels(message)
    message = await user.tick(goals[5])  # unticked again
    assert goals[5] in user.labels(message) and f"✓ {goals[9]}" in user.labels(message)
    goals_message = message
    replies = await user.press("Done")
    assert tripcheck.watcher.turns[-1][0].choice == "2,9"
    answered = fake.messages[(user.user_id, goals_message["message_id"])]
    assert answered["text"].endswith(f"— {goals[2]}, {goals[9]}")
    assert user.question(replies) == rules.text("q.physical_necessary", "en")

    await user.press("Yes")
    replies = await user.say("3")
    assert user.question(replies) == rules.text("q.travel_mode", "en")
    await user.press("Flight")
    # Equality and the annual plan: one list to tick, then Done.
    ticks = [label for label in user.labels() if label[:1].isdigit()]
    assert len(ticks) == 2
    for label in ticks:
        await user.tick(label)
    replies = await user.press("Done")
    assert tripcheck.watcher.turns[-1][0].choice == "1,2"
    assert user.labels() == ["Save", "Change an answer", "Cancel"]
    replies = await user.press("Save")

    decision = replies[0]
    assert decision["text"].startswith(rules.text("decision.headline.travel", "en"))
    headline = utf16_length(rules.text("decision.headline.travel", "en"))
    assert decision["entities"][0] == {"type": "bold", "offset": 0, "length": headline}
    # Rendered from the decision's short view: no headings, every plan section in italics.
    lines = decision["text"].split("\n")
    assert rules.text("decision.reasons", "en") not in lines
    assert len(lines) <= rules.short_decision.max_lines - 1  # the buttons take the last line
    italic = [
        decision["text"][e["offset"] : e["offset"] + e["length"]]
        for e in decision["entities"]
        if e["type"] == "italic"
    ]
    assert italic[-1] == rules.text("decision.recommends", "en")
    assert any(text.startswith("(") for text in italic)
    stored = await tripcheck.engine.storage.last_decision(user.key)
    assert stored is not None
    assert (stored.role, stored.channel, stored.lang) == ("partner_contact", "telegram", "en")
    assert stored.department == "City of Bologna" and stored.outcome == "travel"
    assert stored.answers["goals"]["raw"] == "2,9"
    assert f"no. {stored.id}" in replies[-1]["text"]
    assert len(fake.calls_to("answerCallbackQuery")) == 15  # every press, ticks included


async def test_a_typed_check_in_swedish_for_a_swedish_telegram_app(
    tripcheck: Bot, rules: RuleSet
) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck, user_id=777, language_code="sv")
    replies = await user.say("/start")
    assert replies[0]["text"] == rules.text("greeting", "sv")
    for question, answer in SWEDISH_TYPED:
        if question not in ("q.goals", "q.prepared"):
            asked = rules.text(question, "sv", home="Haparanda")
            assert user.question(replies) == asked, texts(replies)
        replies = await user.say(answer)
    assert user.question(replies).startswith(rules.text("summary.confirm", "sv"))
    replies = await user.say("spara")
    assert replies[0]["text"].startswith(rules.text("decision.headline.digital", "sv"))
    stored = await tripcheck.engine.storage.last_decision(user.key)
    assert stored is not None and stored.role == "partner_contact" and stored.lang == "sv"
    assert stored.department == "Uleåborgs stad"
    same = await tripcheck.engine.storage.get_decision(stored.id)
    assert same is not None and same.role == "partner_contact"


async def test_a_user_without_a_language_gets_english(tripcheck: Bot, rules: RuleSet) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck, language_code=None)
    replies = await user.say("hello there")
    assert replies[0]["text"] == rules.text("greeting", "en")


@pytest.mark.parametrize("secret", [None, "wrong", ""])
async def test_the_webhook_secret_is_enforced(tripcheck: Bot, secret: str | None) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    update = user.message_update("/start")
    response = await user.post(update, secret=secret)
    assert response.status_code == 403
    await asyncio.sleep(0.1)  # nothing should happen; give a wrongly started task a chance
    assert tripcheck.watcher.turns == []
    assert tripcheck.fake.calls_to("sendMessage") == []
    assert await tripcheck.engine.storage.load_conversation(user.key) is None
    # Not even its delivery was recorded: the same update, from Telegram, is handled.
    assert await user.deliver(update)


async def test_a_redelivered_update_is_handled_once(tripcheck: Bot) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    start = user.message_update("/start")
    first = await user.deliver(start)
    state = await tripcheck.engine.storage.load_conversation(user.key)
    assert (await user.post(start)).status_code == 200
    # The next update is handled after the redelivered one (same chat, in order).
    await user.say("trip")
    assert len(tripcheck.watcher.turns) == 2
    assert [m["text"] for m in user.sent()[: len(first)]] == [m["text"] for m in first]
    assert len(user.sent()) == len(first) + 1
    assert state is not None and state.step == "kind"


async def test_text_from_users_is_escaped_and_shown_literally(
    tripcheck: Bot, rules: RuleSet
) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    title = "<b>x</b> & co"
    await user.say("/start")
    await user.say("trip")
    await user.say(title)
    for answer in ["Acme & Sons <Oulu>", "none", "Oulu", "yes", "8", "yes"]:
        await user.say(answer)
    replies = await user.say("2")
    replies = await user.say("train")
    replies = await user.say("all")
    summary = replies[-1]
    assert f"{rules.text('field.title', 'en')}: {title}" in summary["text"]
    assert "Acme & Sons <Oulu>" in summary["text"]
    assert "entities" not in summary  # no markup came through from the user's text
    sent = next(c for c in tripcheck.fake.calls_to("sendMessage") if "&lt;b&gt;x" in c["text"])
    assert sent["parse_mode"] == "HTML"
    assert html.escape(title) in sent["text"]
    # Pressing Save edits the summary: the title must stay literal there too.
    await user.press("Save", summary)
    edited = tripcheck.fake.messages[(user.user_id, summary["message_id"])]
    assert title in edited["text"] and edited["text"].endswith("— Save")


async def test_long_replies_are_split_between_lines(
    tripcheck: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    many_lines = "\n".join(f"line {n}: <tag> & more" for n in range(400))
    one_line = "é & <> " * 900
    question = Outgoing("question", "Pick one?", step="kind", choices=(Choice("Trip", "trip"),))

    async def long_replies(*args: Any, **kwargs: Any) -> TurnResult:
        replies = (Outgoing("message", many_lines), Outgoing("hint", one_line), question)
        return TurnResult(replies, taken=True, lang="en", step="kind")

    monkeypatch.setattr(tripcheck.engine, "handle", long_replies)
    user = TelegramUser(tripcheck.fake, tripcheck)
    assert (await user.post(user.message_update("hello"))).status_code == 200
    await tripcheck.fake.wait_for(lambda: any(m["text"] == "Pick one?" for m in user.sent()))
    calls = tripcheck.fake.calls_to("sendMessage")
    assert len(calls) > 4
    assert all(utf16_length(c["text"]) <= 4096 for c in calls)
    shown = [parse_html(c["text"])[0] for c in calls]
    first_parts = [s for s in shown if s.startswith("line ")]
    assert len(first_parts) > 1 and "\n".join(first_parts) == many_lines
    # The line too long for one message is cut where it must be, and nothing is lost.
    cut_line = shown[len(first_parts) : -1]
    assert len(cut_line) > 1 and "".join(cut_line) == one_line
    assert [bool(c.get("reply_markup")) for c in calls].count(True) == 1
    assert calls[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Trip"


async def test_the_command_menu_is_set_in_swedish_and_english_at_start_up(
    tripcheck: Bot, rules: RuleSet
) -> None:
    calls = tripcheck.fake.calls_to("setMyCommands")
    by_language = {call.get("language_code", "default"): call["commands"] for call in calls}
    assert set(by_language) == {"sv", "default"}
    names = ["start", "check", "help", "language", "cancel", "status"]
    languages: tuple[tuple[str, Lang], ...] = (("sv", "sv"), ("default", "en"))
    for code, lang in languages:
        assert by_language[code] == [
            {"command": name, "description": rules.text(f"telegram.command.{name}", lang)}
            for name in names
        ]
    assert rules.text("telegram.command.help", "sv") != rules.text("telegram.command.help", "en")
    assert tripcheck.fake.calls[0].method == "getMe"


async def test_every_command_reaches_the_engine(tripcheck: Bot, rules: RuleSet) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    assert texts(await user.say("/status")).startswith(rules.text("status.none", "en"))
    assert rules.text("nothing_to_cancel", "en") in texts(await user.say("/cancel"))
    replies = await user.say("/check")
    assert replies[0]["text"] == rules.text("greeting", "en")
    assert rules.text("help.text", "en") in texts(await user.say("/help"))
    assert rules.text("language.switched", "sv") in texts(await user.say("/language"))
    assert rules.text("cancelled", "sv") in texts(await user.say("/cancel"))
    # In a group, "/start@ourbot" is ours; a command for another bot is not.
    assert (await user.post(user.message_update("/start@other_bot"))).status_code == 200
    replies = await user.say("/start@tripcheck_bot")
    assert replies[0]["text"] == rules.text("greeting", "sv")
    assert [incoming.text for incoming, _ in tripcheck.watcher.turns][-1] == "/start"
    assert len(tripcheck.watcher.turns) == 7


async def test_a_non_text_message_gets_the_question_again(tripcheck: Bot, rules: RuleSet) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    await user.say("/start")
    sticker = user.message_update("")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {
        "file_id": "f",
        "file_unique_id": "u",
        "type": "regular",
        "width": 1,
        "height": 1,
        "is_animated": False,
        "is_video": False,
    }
    replies = await user.deliver(sticker)
    assert replies[0]["text"] == rules.text("hint.empty", "en")
    assert user.question(replies) == rules.text("q.kind", "en")


async def test_a_stale_button_leaves_its_message_alone(tripcheck: Bot, rules: RuleSet) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    await user.say("/start")
    old = dict(user.keyboard_message())
    await user.press("Trip", old)
    edits = len(tripcheck.fake.calls_to("editMessageText"))
    replies = await user.press("Project", old)  # the same message, pressed again
    assert replies[0]["text"] == rules.text("hint.stale_button", "en")
    assert user.question(replies) == rules.text("q.title", "en")
    assert len(tripcheck.fake.calls_to("editMessageText")) == edits
    shown = tripcheck.fake.messages[(user.user_id, old["message_id"])]
    assert shown["text"] == f"{rules.text('q.kind', 'en')} — Trip"
    assert len(tripcheck.fake.calls_to("answerCallbackQuery")) == 2
    state = await tripcheck.engine.storage.load_conversation(user.key)
    assert state is not None and state.answers["kind"].value == "trip"


# PTB itself warns when it builds RetryAfter, about a future type of retry_after.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_is_waited_out(
    tripcheck: Bot, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram, "MAX_RETRY_WAIT", 0.01)
    tripcheck.fake.fail_next("sendMessage", 429, retry_after=5)
    user = TelegramUser(tripcheck.fake, tripcheck)
    replies = await user.say("/start")
    assert replies[0]["text"] == rules.text("greeting", "en")
    assert len(tripcheck.fake.calls_to("sendMessage")) == 3  # one refused, then both sent


async def test_a_long_button_value_is_remembered_and_survives_a_restart_as_its_label(
    rules: RuleSet, fake: tuple[FakeTelegram, str]
) -> None:
    value = "Barn- och utbildningsförvaltningen, enheten för internationella relationer"
    assert len(("a:" + value).encode()) > MAX_CALLBACK_DATA
    question = Outgoing("question", "Which?", step="department", choices=(Choice("BUF", value),))
    api, api_url = fake
    pressed: list[Incoming] = []

    async def engine_with_a_long_value() -> Engine:
        engine = Engine(rules, await SQLiteStorage.open(":memory:"))

        async def handle(key: ConversationKey, incoming: Incoming, **options: Any) -> Any:
            pressed.append(incoming)
            return TurnResult((question,), taken=True, lang="en", step=question.step)

        engine.handle = handle  # type: ignore[method-assign]
        return engine

    message: dict[str, Any] = {}
    for run in range(2):  # the second server is the same bot after a restart
        engine = await engine_with_a_long_value()
        async with running(create_app(telegram_settings(api_url), engine)) as url:
            user = TelegramUser(api, Bot(url, api, engine, TurnWatcher(engine)))
            if run == 0:
                await user.say("hi")
                message = copy.deepcopy(user.keyboard_message())
                data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
                assert len(data.encode()) <= MAX_CALLBACK_DATA
            await user.deliver(user.button_update("BUF", message))
    assert pressed[1] == Incoming(choice=value, step="department", lang="en")
    # After the restart the value is forgotten; the label is the choice, for the same step.
    assert pressed[2] == Incoming(choice="BUF", step="department", lang="en")


def test_keyboards_read_back_their_buttons() -> None:
    keyboards = Keyboards()
    long_value = "x" * 100
    reply = Outgoing(
        "question",
        "?",
        step="department",
        choices=(Choice("Short", "yes"), Choice("Long", long_value)),
    )
    markup = keyboards.for_question(reply, "Done")
    assert markup is not None
    data = [b.callback_data for row in markup.inline_keyboard for b in row]
    assert all(isinstance(d, str) and len(d.encode()) <= MAX_CALLBACK_DATA for d in data)
    assert [keyboards.pressed(str(d)) for d in data] == [
        Answer("department", "yes"),
        Answer("department", long_value),
    ]
    assert keyboards.pressed("something else") is None
    # Data from before buttons named their question answers nothing.
    assert keyboards.pressed("a:yes") is None


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_step_fits_in_the_callback_data_with_a_remembered_value(lang: str) -> None:
    steps = [*FIELDS, *(f"{field}.confirm" for field in FIELDS), "confirm", "change", "resume"]
    keyboards = Keyboards()
    long_value = "å" * 64
    for step in steps:
        reply = Outgoing("question", "?", step=step, choices=(Choice(lang, long_value),))
        markup = keyboards.for_question(reply, "Done")
        assert markup is not None
        (button,) = [b for row in markup.inline_keyboard for b in row]
        assert len(str(button.callback_data).encode()) <= MAX_CALLBACK_DATA
        assert keyboards.pressed(str(button.callback_data)) == Answer(step, long_value)


def test_a_toggle_and_done_keep_their_step() -> None:
    keyboards = Keyboards()
    reply = Outgoing(
        "question",
        "Goals?",
        step="goals",
        choices=(Choice("5 Climate", "5"), Choice("8 Growth", "8"), Choice("None", "none")),
        multi=True,
    )
    markup = keyboards.for_question(reply, "Done")
    assert markup is not None
    first = keyboards.pressed(str(markup.inline_keyboard[0][0].callback_data))
    assert first == Toggle("goals", (), "5")
    assert isinstance(first, Toggle)
    ticked = toggled(markup, first)
    done = keyboards.pressed(str(ticked.inline_keyboard[-1][-1].callback_data))
    assert done == Done("goals", ("5",)) and isinstance(done, Done) and done.choice == "5"
    assert Done("goals", ()).choice == "none"


async def test_without_a_webhook_secret_the_webhook_is_off(
    rules: RuleSet, fake: tuple[FakeTelegram, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tripcheck.telegram")
    settings = telegram_settings(fake[1], TELEGRAM_WEBHOOK_SECRET="")
    engine = Engine(rules, await SQLiteStorage.open(":memory:"))
    async with running(create_app(settings, engine)) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/telegram/webhook", json={"update_id": 1})
        ready = (await client.get(f"{url}/readyz")).json()
    assert response.status_code == 404
    assert "telegram" not in ready["channels"]
    assert any("TELEGRAM_WEBHOOK_SECRET" in r.getMessage() for r in caplog.records)


async def test_without_a_token_the_channel_is_off(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tripcheck.telegram")
    engine = Engine(rules, await SQLiteStorage.open(":memory:"))
    assert telegram.channel(Settings.model_validate({}), engine) is None
    assert "channel off: set TELEGRAM_BOT_TOKEN to enable it" in caplog.text
    await engine.storage.close()


def command(*, polling: bool = False, url: str | None = None, db: Path | None = None) -> Any:
    return argparse.Namespace(
        command="telegram",
        polling=polling,
        db=db,
        telegram_command="set-webhook" if url else None,
        url=url,
    )


async def test_set_webhook_registers_the_url_with_the_secret(
    fake: tuple[FakeTelegram, str], capsys: pytest.CaptureFixture[str]
) -> None:
    api, api_url = fake
    hook = "https://tripcheck.example/telegram/webhook"
    assert await telegram_cli.run_command(command(url=hook), telegram_settings(api_url)) == 0
    (call,) = api.calls_to("setWebhook")
    assert call["url"] == hook and call["secret_token"] == SECRET
    assert call["allowed_updates"] == ["message", "callback_query"]
    output = capsys.readouterr()
    assert f"webhook set: {hook}" in output.out and output.err == ""
    # A URL the server does not answer at is still registered, with a note why it may fail.
    assert (
        await telegram_cli.run_command(
            command(url="https://x.example/"), telegram_settings(api_url)
        )
        == 0
    )
    assert "/telegram/webhook" in capsys.readouterr().err


async def test_set_webhook_refuses_without_a_secret(
    fake: tuple[FakeTelegram, str], capsys: pytest.CaptureFixture[str]
) -> None:
    api, api_url = fake
    settings = telegram_settings(api_url, TELEGRAM_WEBHOOK_SECRET="")
    assert await telegram_cli.run_command(
        command(url="https://x.example/telegram/webhook"), settings
    )
    assert api.calls_to("setWebhook") == []
    assert "TELEGRAM_WEBHOOK_SECRET" in capsys.readouterr().err


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """`tripcheck telegram --polling` sets up JSON logs on the root logger; undo that."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_logging")
async def test_long_polling_runs_a_check_until_sigterm(
    fake: tuple[FakeTelegram, str], tmp_path: Path, rules: RuleSet
) -> None:
    api, api_url = fake
    api.longest_poll = 10  # a long poll is still open when SIGTERM comes
    settings = telegram_settings(
        api_url, TRIPCHECK_PLACES_CACHE=str(PLACES_CACHE), TELEGRAM_WEBHOOK_SECRET=""
    )
    db = tmp_path / "polling.db"
    polling = asyncio.create_task(telegram_cli.run_command(command(polling=True, db=db), settings))
    await api.wait_for(lambda: api.calls_to("getUpdates"), timeout=10)
    user = TelegramUser(api, user_id=99, language_code="sv")
    # A burst of updates, all in one poll: they must be handled in order.
    pushed = []
    for _, answer in [("", "/start"), *SWEDISH_TYPED, ("", "spara")]:
        pushed.append(user.message_update(answer))
        api.push(pushed[-1])
    saved = rules.text("saved", "sv").split("{")[0]
    await api.wait_for(lambda: any(m["text"].startswith(saved) for m in user.sent()), timeout=10)
    await api.wait_for(lambda: len(api.calls_to("getUpdates")) >= 2)

    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(polling, timeout=3) == 0
    api.wake_pollers()

    methods = [call.method for call in api.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    # Each poll confirms what came before, so Telegram sends every update once.
    offsets = [call.get("offset") for call in api.calls_to("getUpdates")]
    assert offsets[0] is None and offsets[-1] == pushed[-1]["update_id"] + 1
    storage = await SQLiteStorage.open(db)
    try:
        stored = await storage.last_decision(user.key)
    finally:
        await storage.close()
    assert stored is not None and stored.role == "partner_contact" and stored.lang == "sv"
    assert stored.outcome == "digital"


async def test_the_updates_of_a_chat_are_handled_in_order(tripcheck: Bot) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    await user.say("/start")
    # A press answers its callback before its turn; a slow Telegram must not let the typed
    # message that came next overtake it.
    tripcheck.fake.delay("answerCallbackQuery", 0.2)
    press = user.button_update("Trip")
    typed = user.message_update("Board meeting")
    assert (await user.post(press)).status_code == 200
    assert (await user.post(typed)).status_code == 200
    watcher = tripcheck.watcher
    await tripcheck.fake.wait_for(lambda: len(watcher.turns) == 3)
    state = await tripcheck.engine.storage.load_conversation(user.key)
    assert state is not None and state.answers["title"].label == "Board meeting"
    assert [incoming.choice or incoming.text for incoming, _ in watcher.turns[1:]] == [
        "trip",
        "Board meeting",
    ]


async def test_done_with_nothing_ticked_answers_none(tripcheck: Bot, rules: RuleSet) -> None:
    user = TelegramUser(tripcheck.fake, tripcheck)
    for answer in ["/start", "trip", "Visit", "City of Oulu", "none", "Oulu", "don't know"]:
        await user.say(answer)
    await user.say("yes")
    goals_message = copy.deepcopy(user.keyboard_message())
    assert "Done" in user.labels() and rules.text("choice.none", "en") in user.labels()
    await user.press("Done")
    assert tripcheck.watcher.turns[-1][0].choice == "none"
    answered = tripcheck.fake.messages[(user.user_id, goals_message["message_id"])]
    assert answered["text"].endswith(f"— {rules.text('choice.none', 'en')}")
    assert tripcheck.watcher.turns[-1][1][-1].step not in ("goals", None)  # answered, moved on


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"not json", 400), (b'["an", "array"]', 400), (b'{"no": "update id"}', 400)],
)
async def test_a_body_that_is_not_an_update_is_refused(
    tripcheck: Bot, body: bytes, status: int
) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{tripcheck.url}/telegram/webhook",
            content=body,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
    assert response.status_code == status
    huge = {"update_id": 1, "message": {"text": "x" * (1024 * 1024)}}
    assert (await TelegramUser(tripcheck.fake, tripcheck).post(huge)).status_code == 413
    assert tripcheck.watcher.turns == []


async def test_an_update_is_handled_even_if_its_delivery_cannot_be_recorded(
    tripcheck: Bot, rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: Any) -> bool:
        raise StorageError("the database is locked")

    monkeypatch.setattr(tripcheck.engine.storage, "claim_delivery", unavailable)
    replies = await TelegramUser(tripcheck.fake, tripcheck).say("/start")
    assert replies[0]["text"] == rules.text("greeting", "en")


async def test_the_bot_token_never_reaches_the_logs(
    tripcheck: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("telegram").setLevel(logging.INFO)  # PTB's own debug lines name the URL
    await TelegramUser(tripcheck.fake, tripcheck).say("/start")
    assert caplog.records and TOKEN not in caplog.text


async def test_the_server_starts_even_when_telegram_is_unreachable(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = f"http://127.0.0.1:{free_port()}"
    engine = Engine(rules, await SQLiteStorage.open(":memory:"))
    app = create_app(telegram_settings(unreachable), engine)
    async with running(app) as url, httpx.AsyncClient() as client:
        ready = await client.get(f"{url}/readyz")
    assert ready.status_code == 200 and "telegram" in ready.json()["channels"]
    assert "telegram start-up incomplete" in caplog.text
    assert TOKEN not in caplog.text


@pytest.mark.usefixtures("restore_logging")
async def test_polling_with_a_rejected_token_exits_with_1(
    fake: tuple[FakeTelegram, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = telegram_settings(
        fake[1], TELEGRAM_BOT_TOKEN="999:wrong", TRIPCHECK_PLACES_CACHE=str(PLACES_CACHE)
    )
    args = command(polling=True, db=tmp_path / "t.db")
    assert await asyncio.wait_for(telegram_cli.run_command(args, settings), timeout=10) == 1
    err = capsys.readouterr().err
    assert "rejected TELEGRAM_BOT_TOKEN" in err and "999:wrong" not in err


async def test_the_webhook_answers_before_the_update_is_handled(tripcheck: Bot) -> None:
    tripcheck.fake.delay("sendMessage", 0.5)  # Telegram is slow to take our replies
    user = TelegramUser(tripcheck.fake, tripcheck)
    started = time.monotonic()
    assert (await user.post(user.message_update("/start"))).status_code == 200
    assert time.monotonic() - started < 0.4
    await tripcheck.fake.wait_for(lambda: len(user.sent()) == 2)


async def test_shutdown_finishes_the_updates_already_acknowledged(
    rules: RuleSet, fake: tuple[FakeTelegram, str]
) -> None:
    api, api_url = fake
    api.delay("sendMessage", 0.2)
    engine = Engine(rules, await SQLiteStorage.open(":memory:"))
    async with running(create_app(telegram_settings(api_url), engine)) as url:
        user = TelegramUser(api, Bot(url, api, engine, TurnWatcher(engine)))
        assert (await user.post(user.message_update("/start"))).status_code == 200
    # The server has stopped; the greeting and the first question were still sent.
    assert len(user.sent()) == 2
