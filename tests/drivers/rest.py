"""The REST driver of the scenario matrix: our app with the REST channel on, and a web chat
posting to `POST /webhooks/rest` with the bearer token. REST has no platform locale: the
client's `"lang"` field stands in for it (sent with every message when it has one)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from adapters import rest
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.state import Role
from storage.sqlite.store import SQLiteStorage
from tests.drivers import Loopback, QuestionRef, Shown, own_or_shared
from tests.drivers.telegram import shipped_rules
from tests.drivers.transcript import Transcript
from tripcheck.server import create_app

TOKEN = "rest-token-for-the-matrix"
SENDER = "web-chat-anna"


@dataclass
class RestDriver:
    """A web chat's user (see ChannelDriver)."""

    engine: Engine
    key: ConversationKey
    url: str
    lang: str | None
    http: httpx.AsyncClient
    role: Role = "employee"
    edits_sent: bool = False
    transcript: Transcript = field(default_factory=Transcript)

    async def say(self, text: str) -> list[Shown]:
        return await self._post({"message": text})

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        return await self._post(self.transcript.press(value, question))

    def latest_question(self) -> QuestionRef:
        return self.transcript.latest_question()

    async def seen(self, question: QuestionRef) -> Shown:
        return self.transcript.seen(question)

    async def _post(self, message: dict[str, Any]) -> list[Shown]:
        body = {"sender": SENDER, **message}
        if self.lang is not None:
            body["lang"] = self.lang
        response = await self.http.post(
            f"{self.url}/webhooks/rest", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()
        return self.transcript.add(replies)


@contextlib.asynccontextmanager
async def open_driver(
    locale: str | None, servers: Loopback | None = None
) -> AsyncIterator[RestDriver]:
    """A fresh app with the REST channel and an in-memory database; the client sends
    `"lang": locale` with each message (none for None)."""
    async with own_or_shared(servers) as shared:
        settings = Settings.model_validate({"TRIPCHECK_REST_TOKEN": TOKEN})
        engine = Engine(shipped_rules(), await SQLiteStorage.open(":memory:"))
        channel = rest.channel(settings, engine)
        assert channel is not None
        app = create_app(settings, engine, [channel])
        async with shared.mount(None, app), httpx.AsyncClient(timeout=5.0) as http:
            key = ConversationKey("rest", SENDER, SENDER)
            yield RestDriver(engine, key, shared.app_url, locale, http)
