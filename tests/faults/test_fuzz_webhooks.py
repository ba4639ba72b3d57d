"""10,000 seeded hostile bodies to each platform webhook (in-process, through the whole app):
no 5xx. Slack's are unsigned (what anyone can send); Telegram's carry the secret (what a
leaked secret allows); Teams' have no token. Slack still answers some with 500 until its
adapter checks the request with chat_kit before bolt parses it."""

from __future__ import annotations

import collections
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.faults.hostile import SEED, hostile_bodies
from tests.faults.test_webhook_faults import slack_forged
from tests.servers import free_port
from tripcheck.server import create_app

pytestmark = pytest.mark.faults

COUNT = 10_000


@pytest.fixture
async def client(rules: RuleSet) -> AsyncIterator[httpx.AsyncClient]:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": "xoxb-fuzz",
            "SLACK_SIGNING_SECRET": "slack-secret-for-the-fuzz",
            "SLACK_API_URL": f"{dead}/api/",
            "TELEGRAM_BOT_TOKEN": "123:fuzz",
            "TELEGRAM_WEBHOOK_SECRET": "telegram-secret-for-the-fuzz",
            "TELEGRAM_API_URL": dead,
            "TEAMS_CLIENT_ID": "00000000-0000-0000-0000-00000000f022",
            "TEAMS_CLIENT_SECRET": "teams-secret-for-the-fuzz",
        }
    )
    storage = await SQLiteStorage.open(":memory:")
    app = create_app(settings, Engine(rules, storage))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        yield http
    await storage.close()


WEBHOOKS = [
    pytest.param(
        "/slack/events",
        slack_forged("1790000000"),
        id="slack",
    ),
    pytest.param(
        "/telegram/webhook",
        {"X-Telegram-Bot-Api-Secret-Token": "telegram-secret-for-the-fuzz"},
        id="telegram",
    ),
    pytest.param("/api/messages", {}, id="teams"),
]


@pytest.mark.parametrize(("path", "headers"), WEBHOOKS)
async def test_ten_thousand_hostile_bodies_get_no_5xx(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    statuses: collections.Counter[int] = collections.Counter()
    for body in hostile_bodies(COUNT, text_field="text"):
        response = await client.post(
            path, content=body, headers={"Content-Type": "application/json", **headers}
        )
        statuses[response.status_code] += 1
    print(
        f"tried {COUNT} hostile bodies (seed {SEED}) on {path}: "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert not [status for status in statuses if status >= 500]
