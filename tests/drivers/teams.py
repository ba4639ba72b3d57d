"""The Teams driver of the scenario matrix: our server with Teams on (unauthenticated mode), the
fake Bot Framework connector behind it, and a user in a personal chat whose client keeps showing
the cards as they were sent."""

from __future__ import annotations

import contextlib
import html
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters import teams
from adapters.teams_cards import CHOICE, DONE, PICKED
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.state import Role
from storage.sqlite.store import SQLiteStorage
from tests.drivers import Loopback, QuestionRef, Shown, own_or_shared
from tests.drivers.telegram import SETTLE_SECONDS, shipped_rules
from tests.fake_teams import ConnectorCall, FakeConnector
from tripcheck.server import create_app

CLIENT_ID = "3f2b8c4e-1d2a-4b5c-9e8f-0a1b2c3d4e5f"
BOT = {"id": f"28:{CLIENT_ID}", "name": "Tripcheck"}
TENANT = "lulea-tenant"
PERSONAL = "a:1personal-chat-anna"
AAD = "aad-anna"


def teams_settings(**values: str) -> Settings:
    """Teams on without Bot Framework tokens (local development and tests)."""
    return Settings.model_validate(
        {"TEAMS_CLIENT_ID": CLIENT_ID, "TEAMS_ALLOW_UNAUTHENTICATED": "true", **values}
    )


@dataclass
class TeamsDriver:
    """Anna in a personal chat with the bot."""

    engine: Engine
    key: ConversationKey
    connector: FakeConnector
    connector_url: str
    channel: teams.TeamsChannel
    url: str
    locale: str | None
    role: Role = "employee"
    edits_sent: bool = True
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_790_000_100_000))

    async def say(self, text: str) -> list[Shown]:
        return await self._post(self._activity(text=text))

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        question = question or self.latest_question()
        sent = self._sent(question.id)
        data = _submit_data(sent.card or {}, value)
        activity = self._activity(value=data, replyToId=sent.id)
        activity["conversation"]["id"] = sent.conversation_id
        return await self._post(activity)

    def latest_question(self) -> QuestionRef:
        for sent in reversed(self.connector.sent):
            card = self._now(sent.id).card
            if card is not None and card.get("actions"):
                return QuestionRef(sent.id, _card_text(card), _values(card))
        raise AssertionError("no card with buttons")

    async def seen(self, question: QuestionRef) -> Shown:
        return _shown(self._now(question.id))

    # --- the user's client ------------------------------------------------------------

    def _activity(self, **fields: Any) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "type": "message",
            "id": str(next(self._ids)),
            "timestamp": "2026-09-21T10:00:00.000Z",
            "serviceUrl": self.connector_url,
            "channelId": "msteams",
            "from": {"id": f"29:{AAD}", "name": "Anna", "aadObjectId": AAD},
            "conversation": {
                "id": PERSONAL,
                "conversationType": "personal",
                "tenantId": TENANT,
            },
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}},
        }
        if self.locale:
            activity["locale"] = self.locale
        activity.update(fields)
        return activity

    def _sent(self, activity_id: str) -> ConnectorCall:
        """The activity as it was sent (what an old client still shows)."""
        return next(c for c in self.connector.sent if c.id == activity_id)

    def _now(self, activity_id: str) -> ConnectorCall:
        """The activity as Teams shows it now: its latest update, else as sent."""
        for call in reversed(self.connector.updated):
            if call.activity_id == activity_id:
                return call
        return self._sent(activity_id)

    async def _post(self, activity: dict[str, Any]) -> list[Shown]:
        """Posts an activity to /api/messages; what the bot sent for it, once it is handled."""
        before = len(self.connector.sent)
        async with httpx.AsyncClient() as client:
            response = await client.post(f"{self.url}/api/messages", json=activity)
        assert response.status_code == 200, response.text
        await self.channel.settled(SETTLE_SECONDS)
        return [_shown(self._now(c.id)) for c in self.connector.sent[before:]]


def _shown(call: ConnectorCall) -> Shown:
    card = call.card
    if card is None:
        text = str(call.activity.get("text") or "").replace("<br>", "\n")
        return Shown(html.unescape(text))
    return Shown(_card_text(card), _values(card))


def _card_text(card: dict[str, Any]) -> str:
    """What a card says: its text blocks and facts (not its inputs or buttons)."""
    lines: list[str] = []
    for element in card.get("body") or []:
        if element["type"] == "TextBlock":
            lines.append(element["text"])
        elif element["type"] == "FactSet":
            lines.extend(f"{f['title']}: {f['value']}" for f in element["facts"])
    return "\n".join(lines)


def _values(card: dict[str, Any]) -> tuple[str, ...]:
    """The values a user can send with a card: its lists' items, then its buttons'."""
    if not card.get("actions"):
        return ()
    listed = [
        choice["value"]
        for element in card.get("body") or []
        if element["type"] == "Input.ChoiceSet"
        for choice in element["choices"]
    ]
    buttons = [a["data"][CHOICE] for a in card["actions"] if CHOICE in a["data"]]
    return (*listed, *buttons)


def _submit_data(card: dict[str, Any], value: str) -> dict[str, Any]:
    """What Teams sends for choosing `value` on a card: a button's data; or an item of the
    drop-down list with the Choose button; or a goal ticked alone with Done."""
    actions = card.get("actions") or []
    for action in actions:
        if action["data"].get(CHOICE) == value:
            return dict(action["data"])
    for element in card.get("body") or []:
        if element["type"] != "Input.ChoiceSet":
            continue
        if value in [c["value"] for c in element["choices"]]:
            if element["isMultiSelect"]:
                done = next(a for a in actions if DONE in a["data"])
                return {**done["data"], PICKED: value}
            choose = next(a for a in actions if CHOICE not in a["data"] and DONE not in a["data"])
            return {**choose["data"], CHOICE: value}
    raise AssertionError(f"no way to choose {value!r} on this card")


@contextlib.asynccontextmanager
async def open_driver(
    locale: str | None, servers: Loopback | None = None
) -> AsyncIterator[TeamsDriver]:
    """A fresh app with its own in-memory database, a fresh fake connector, and a user whose
    Teams client is set to `locale` (None: the activities carry no locale)."""
    async with own_or_shared(servers) as shared:
        connector = FakeConnector()
        settings = teams_settings()
        engine = Engine(shipped_rules(), await SQLiteStorage.open(":memory:"))
        channel = teams.channel(settings, engine)
        assert channel is not None
        async with shared.mount(connector.app, create_app(settings, engine, [channel])):
            key = ConversationKey("teams", PERSONAL, AAD)
            yield TeamsDriver(
                engine, key, connector, shared.platform_url, channel, shared.app_url, locale
            )
