"""The Telegram driver of the scenario matrix: our server in webhook mode, the fake Bot API
behind it, and a user in a private chat whose client keeps showing the keyboards it was sent."""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters import telegram
from adapters.telegram_render import Answer, Done, Toggle
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.state import Role
from rules.loader import load_ruleset
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.drivers import Loopback, QuestionRef, Shown, own_or_shared
from tests.fake_telegram import FakeTelegram
from tripcheck.server import create_app

SECRET = "s"
TOKEN = "123:abc"
USER_ID = 4242
# How long a test waits for the channel to handle what it was sent.
SETTLE_SECONDS = 10.0


def telegram_settings(api_url: str, **values: str) -> Settings:
    """Telegram on, in webhook mode, against the Bot API at `api_url`."""
    return Settings.model_validate(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_URL": api_url,
            **values,
        }
    )


@functools.cache
def shipped_rules() -> RuleSet:
    return load_ruleset()


@dataclass
class TelegramDriver:
    """A Telegram user writing to the bot in a private chat (chat id = user id)."""

    engine: Engine
    key: ConversationKey
    fake: FakeTelegram
    channel: telegram.TelegramChannel
    url: str
    language_code: str | None
    user_id: int = USER_ID
    role: Role = "partner_contact"
    edits_sent: bool = True
    # Every message with a keyboard, as the client showed it when it came (message id).
    shown: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def say(self, text: str) -> list[Shown]:
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": 1_790_000_000,
            "chat": {"id": self.user_id, "type": "private"},
            "from": self._user(),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return await self._deliver({"update_id": self.fake.new_update_id(), "message": message})

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        question = question or self.latest_question()
        message = self.shown[int(question.id)]
        button = self._button(message, value)
        pressed = self.channel.keyboards.pressed(button["callback_data"])
        if isinstance(pressed, Toggle):
            # A goal: ticked alone, then Done, as a user picking one goal does.
            await self._deliver(self._callback(button, message))
            ticked = copy.deepcopy(self.fake.messages[(self.user_id, message["message_id"])])
            done = next(
                b
                for b in _buttons(ticked)
                if isinstance(self.channel.keyboards.pressed(b["callback_data"]), Done)
            )
            return await self._deliver(self._callback(done, ticked))
        return await self._deliver(self._callback(button, message))

    def latest_question(self) -> QuestionRef:
        for message in reversed(self.fake.sent(self.user_id)):
            if message.get("reply_markup"):
                return QuestionRef(
                    str(message["message_id"]), message["text"], self._values(message)
                )
        raise AssertionError("no message with buttons")

    async def seen(self, question: QuestionRef) -> Shown:
        message = self.fake.messages[(self.user_id, int(question.id))]
        return Shown(message["text"], self._values(message))

    # --- the user's client ------------------------------------------------------------

    def _user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": "Giulia"}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def _callback(self, button: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        query = {
            "id": f"q{self.fake.new_update_id()}",
            "from": self._user(),
            "chat_instance": "ci",
            "data": button["callback_data"],
            "message": message,
        }
        return {"update_id": self.fake.new_update_id(), "callback_query": query}

    def _value(self, button: dict[str, Any]) -> str | None:
        """The engine value a button sends (None for Done, which sends what is ticked)."""
        pressed = self.channel.keyboards.pressed(button["callback_data"])
        if isinstance(pressed, Answer | Toggle):
            return pressed.value
        return None

    def _values(self, message: dict[str, Any]) -> tuple[str, ...]:
        values = (self._value(b) for b in _buttons(message))
        return tuple(v for v in values if v is not None)

    def _button(self, message: dict[str, Any], value: str) -> dict[str, Any]:
        for button in _buttons(message):
            if self._value(button) == value:
                return button
        raise AssertionError(f"no button {value!r} on {message['text']!r}")

    async def _deliver(self, update: dict[str, Any]) -> list[Shown]:
        """Posts an update to the webhook; what the bot sent for it, once it is handled."""
        before = max((m["message_id"] for m in self.fake.sent(self.user_id)), default=0)
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"{self.url}/telegram/webhook",
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            )
        assert response.status_code == 200, response.text
        await self.channel.settled(SETTLE_SECONDS)
        new = [m for m in self.fake.sent(self.user_id) if m["message_id"] > before]
        for message in new:
            if message.get("reply_markup"):
                self.shown[message["message_id"]] = copy.deepcopy(message)
        return [Shown(m["text"], self._values(m)) for m in new]


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@contextlib.asynccontextmanager
async def open_driver(
    locale: str | None, servers: Loopback | None = None
) -> AsyncIterator[TelegramDriver]:
    """A fresh app with its own in-memory database, a fresh fake Bot API, and a user whose
    Telegram app is set to `locale` (None: Telegram sends no language)."""
    async with own_or_shared(servers) as shared:
        fake = FakeTelegram(TOKEN)
        settings = telegram_settings(shared.platform_url)
        engine = Engine(shipped_rules(), await SQLiteStorage.open(":memory:"))
        channel = telegram.channel(settings, engine)
        assert channel is not None
        async with shared.mount(fake.app, create_app(settings, engine, [channel])):
            key = ConversationKey("telegram", str(USER_ID), str(USER_ID))
            yield TelegramDriver(engine, key, fake, channel, shared.app_url, locale)
