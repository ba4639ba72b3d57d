"""The Slack channel's driver for the cross-channel scenario matrix, and the helpers that
tests/test_slack.py shares: signed requests as Slack sends them, a person in the workspace
(`SlackUser`), and what a message shows.

`open_driver(locale, servers)` serves our real app (the Slack channel only) over loopback
HTTP, with a fake Slack Web API behind it and a fresh in-memory database."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from adapters import slack
from adapters.slack_blocks import DONE_ACTION
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.state import Role
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import PLACES_CACHE
from tests.drivers import Loopback, QuestionRef, Shown, own_or_shared
from tests.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack, dm_channel
from tripcheck.server import create_app

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "signing-secret-for-tests"
CHANNEL = "C0PLANNING"
LOCALES = {"U0ANNA": "en-GB", "U0SVEN": "sv-SE"}
_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def slack_settings(api_url: str) -> Settings:
    return Settings.model_validate(
        {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api_url}
    )


def signature_headers(
    body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Slack's signature: HMAC-SHA256 of v0:{timestamp}:{body} with the signing secret."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


def new_ts() -> str:
    return f"{int(time.time())}.{next(_message_ts):06d}"


def event_body(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """An Events API delivery (event_callback) of `event`."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0TRIPCHECK",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def has_buttons(message: dict[str, Any]) -> bool:
    return any(block["type"] == "actions" for block in message["blocks"])


def shown_text(message: dict[str, Any]) -> str:
    """Everything a message's blocks show, as mrkdwn."""
    parts = []
    for block in message["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        for element in block.get("elements") or []:
            if "text" in element and isinstance(element["text"], str):
                parts.append(element["text"])
    return "\n".join(parts)


def buttons(message: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every button of a message."""
    return [
        (block, element)
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "button"
    ]


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("ascii")


@dataclass
class Bot:
    """Our server with the Slack channel, the fake Web API behind it, and the engine."""

    url: str
    fake: FakeSlack
    engine: Engine
    slack: slack.SlackChannel
    http: httpx.AsyncClient

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str | None = SIGNING_SECRET,
        timestamp: int | None = None,
        headers: Mapping[str, str | bytes] | None = None,
    ) -> httpx.Response:
        signed = signature_headers(body, secret, timestamp) if secret is not None else {}
        merged = {"Content-Type": content_type, **signed, **(headers or {})}
        # A header value may be raw bytes (a client may send any byte), so all go as bytes.
        raw = [(name.encode(), _as_bytes(value)) for name, value in merged.items()]
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=raw)

    async def deliver(self, body: bytes, content_type: str, **options: Any) -> httpx.Response:
        """Posts a signed request, then waits until the bot has done what it was asked."""
        response = await self.post(body, content_type, **options)
        assert response.status_code == 200, response.text
        await asyncio.wait_for(self.slack.settled(), 5)
        return response

    async def send_event(self, event: dict[str, Any], **options: Any) -> httpx.Response:
        body = json.dumps(event_body(event)).encode()
        return await self.deliver(body, "application/json", **options)


@dataclass
class SlackUser:
    """A person in the workspace, talking to the bot in a DM, a channel thread or a command."""

    bot: Bot
    user_id: str = "U0ANNA"
    _seen: int = field(default=0)

    @property
    def dm(self) -> str:
        return dm_channel(self.user_id)

    def key(self, chat: str | None = None) -> ConversationKey:
        return ConversationKey("slack", chat or self.dm, self.user_id)

    async def step(self, chat: str | None = None) -> str | None:
        state = await self.bot.engine.storage.load_conversation(self.key(chat))
        return self.bot.engine.dialogue.step_id(state) if state is not None else None

    def new_messages(self) -> list[dict[str, Any]]:
        """The messages the bot posted (anywhere) since the last call."""
        messages = list(self.bot.fake.messages.values())
        fresh, self._seen = messages[self._seen :], len(messages)
        return fresh

    @staticmethod
    def message_event(user_id: str, text: str, **fields: Any) -> dict[str, Any]:
        """A message event in the user's DM with the bot, unless `fields` say otherwise."""
        event = {
            "type": "message",
            "channel": dm_channel(user_id),
            "channel_type": "im",
            "user": user_id,
            "text": text,
            "ts": new_ts(),
        }
        return {**event, **fields}

    def message(self, text: str, **fields: Any) -> dict[str, Any]:
        return self.message_event(self.user_id, text, **fields)

    async def say(self, text: str, **fields: Any) -> list[dict[str, Any]]:
        """Types a message (in the DM unless `fields` say otherwise), as Slack escapes it."""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        self.new_messages()
        await self.bot.send_event(self.message(escaped, **fields))
        return self.new_messages()

    async def mention(
        self, text: str, ts: str, thread_ts: str | None = None
    ) -> list[dict[str, Any]]:
        event = {
            "type": "app_mention",
            "channel": CHANNEL,
            "user": self.user_id,
            "text": f"<@{BOT_USER_ID}> {text}",
            "ts": ts,
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        self.new_messages()
        await self.bot.send_event(event)
        return self.new_messages()

    async def reply_in_thread(self, thread_ts: str, text: str) -> list[dict[str, Any]]:
        return await self.say(text, channel=CHANNEL, channel_type="channel", thread_ts=thread_ts)

    def latest_question(self, channel: str | None = None) -> dict[str, Any]:
        """A copy of the bot's latest message with buttons, as the user's Slack shows it."""
        found = [m for m in self.bot.fake.posted(channel or self.dm) if has_buttons(m)]
        assert found, "no question with buttons"
        return copy.deepcopy(found[-1])

    def action_payload(
        self,
        message: dict[str, Any],
        block: dict[str, Any],
        element: dict[str, Any],
        state: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        action = {
            "type": element["type"],
            "action_id": element["action_id"],
            "block_id": block["block_id"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action.update(text=element["text"], value=element["value"])
        return {
            "type": "block_actions",
            "user": {"id": self.user_id, "username": self.user_id.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0TRIPCHECK",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": message["channel"],
                "is_ephemeral": False,
            },
            "trigger_id": "trigger",
            "team": {"id": TEAM_ID, "domain": "lulea"},
            "channel": {"id": message["channel"], "name": "directmessage"},
            "message": message,
            "state": {"values": state or {}},
            "response_url": "https://hooks.slack.com/actions/T0LULEA/1/x",
            "actions": [action],
        }

    async def send_action(self, payload: dict[str, Any]) -> httpx.Response:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.bot.deliver(body, "application/x-www-form-urlencoded")

    async def press(
        self, value: str, message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Presses the button with `value` on `message` (the latest question by default)."""
        message = message or self.latest_question()
        block, element = next((b, e) for b, e in buttons(message) if e["value"] == value)
        self.new_messages()
        await self.send_action(self.action_payload(message, block, element))
        return self.new_messages()

    async def tick_and_press_done(
        self, values: list[str], message: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Ticks goal checkboxes one by one (as Slack reports each tick), then presses Done."""
        message = message or self.latest_question()
        boxes = [
            (block, element)
            for block in message["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
            if element["type"] == "checkboxes"
        ]
        state: dict[str, Any] = {}
        for value in values:
            block, element = next(
                (b, e) for b, e in boxes if any(o["value"] == value for o in e["options"])
            )
            chosen = state.setdefault(block["block_id"], {}).setdefault(
                element["action_id"], {"type": "checkboxes", "selected_options": []}
            )
            chosen["selected_options"].append(
                next(o for o in element["options"] if o["value"] == value)
            )
            calls = len(self.bot.fake.calls)
            await self.send_action(self.action_payload(message, block, element, state))
            assert len(self.bot.fake.calls) == calls, "a tick only acknowledges"
        block, done = next((b, e) for b, e in buttons(message) if e["action_id"] == DONE_ACTION)
        self.new_messages()
        await self.send_action(self.action_payload(message, block, done, state))
        return self.new_messages()

    async def command(self, text: str = "", channel_id: str = "C0GENERAL") -> httpx.Response:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "lulea",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": self.user_id,
            "user_name": self.user_id.lower(),
            "command": "/tripcheck",
            "text": text,
            "api_app_id": "A0TRIPCHECK",
            "response_url": self.bot.fake.response_url_for(next(_event_ids)),
            "trigger_id": "trigger",
        }
        self.new_messages()
        return await self.bot.deliver(urlencode(form).encode(), "application/x-www-form-urlencoded")


# --- the matrix driver ----------------------------------------------------------------------

DRIVER_USER = "U0MATRIX"


def seen_text(message: dict[str, Any]) -> str:
    """A message's text as the user reads it: its blocks' text, Slack's escapes undone."""
    text = shown_text(message)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def values_of(message: dict[str, Any]) -> tuple[str, ...]:
    """The values a message's buttons send, then its checkboxes' (a goal ticked, then Done)."""
    pressed = [element["value"] for _, element in buttons(message)]
    ticked = [
        option["value"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["type"] == "checkboxes"
        for option in element["options"]
    ]
    return (*pressed, *ticked)


def as_shown(message: dict[str, Any]) -> Shown:
    return Shown(seen_text(message), values_of(message))


@dataclass
class SlackDriver:
    """A user in a DM with the bot, for tests/test_channel_matrix.py (see ChannelDriver)."""

    engine: Engine
    key: ConversationKey
    user: SlackUser
    role: Role = "employee"
    edits_sent: bool = True
    # Each question as the user's client showed it when latest_question() was asked: an old
    # client still shows (and sends) its buttons after the bot removed them.
    _questions: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def say(self, text: str) -> list[Shown]:
        return [as_shown(message) for message in await self.user.say(text)]

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        if question is None:
            question = self.latest_question()
        message = self._questions[question.id]
        if any(element["value"] == value for _, element in buttons(message)):
            replies = await self.user.press(value, message)
        else:
            replies = await self.user.tick_and_press_done([value], message)
        return [as_shown(reply) for reply in replies]

    def latest_question(self) -> QuestionRef:
        message = self.user.latest_question()
        self._questions[message["ts"]] = message
        return QuestionRef(message["ts"], seen_text(message), values_of(message))

    async def seen(self, question: QuestionRef) -> Shown:
        return as_shown(self.user.bot.fake.messages[(self.user.dm, question.id)])


@functools.cache
def _rules() -> RuleSet:
    return load_ruleset()


@functools.cache
def _places() -> PlaceIndex:
    return PlaceIndex.load(PLACES_CACHE)


@contextlib.asynccontextmanager
async def open_driver(
    locale: str | None, servers: Loopback | None = None
) -> AsyncIterator[SlackDriver]:
    """A fresh app with the Slack channel, a fresh fake Slack whose users.info gives the user
    `locale` (none at all for None), and an in-memory database."""
    async with own_or_shared(servers) as shared:
        fake = FakeSlack(TOKEN, locales={DRIVER_USER: locale or ""})
        fake.url = shared.platform_url
        storage = await SQLiteStorage.open(":memory:")
        engine = Engine(_rules(), storage, places=_places())
        settings = slack_settings(f"{shared.platform_url}/api/")
        channel = slack.channel(settings, engine)
        assert channel is not None
        # The app's lifespan starts and stops the channel and closes the engine's storage.
        app = create_app(settings, engine, [channel])
        async with shared.mount(fake.app, app), httpx.AsyncClient(timeout=5.0) as http:
            user = SlackUser(Bot(shared.app_url, fake, engine, channel, http), DRIVER_USER)
            yield SlackDriver(engine, user.key(), user)
