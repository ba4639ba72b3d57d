"""Fakes of the platforms' APIs served on loopback, and the whole app in-process with every
channel on, for the fault suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.fake_slack import FakeSlack
from tests.fake_teams import FakeConnector
from tests.fake_telegram import FakeTelegram
from tests.faults.inprocess import SLACK_TOKEN, TELEGRAM_TOKEN
from tests.servers import free_port, running
from tripcheck.server import create_app

SLACK_SECRET = "slack-signing-secret-for-fault-tests"
TELEGRAM_SECRET = "telegram-secret-for-fault-tests"


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlack]:
    api = FakeSlack(SLACK_TOKEN)
    async with running(api.app) as url:
        api.url = url
        yield api


@pytest.fixture
async def telegram_api_url() -> AsyncIterator[str]:
    async with running(FakeTelegram(TELEGRAM_TOKEN).app) as url:
        yield url


@pytest.fixture
async def connector_url() -> AsyncIterator[str]:
    async with running(FakeConnector().app) as url:
        yield url


@pytest.fixture
async def client(rules: RuleSet) -> AsyncIterator[httpx.AsyncClient]:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": "xoxb-fault-tests",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": f"{dead}/api/",
            "TELEGRAM_BOT_TOKEN": "123:fault-tests",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_URL": dead,
            "TEAMS_CLIENT_ID": "00000000-0000-0000-0000-00000000fa17",
            "TEAMS_CLIENT_SECRET": "teams-secret-for-fault-tests",
        }
    )
    storage = await SQLiteStorage.open(":memory:")
    app = create_app(settings, Engine(rules, storage))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        yield http
    await storage.close()
