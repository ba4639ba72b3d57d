"""Fakes of the platforms' APIs, served on loopback for the fault suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fake_slack import FakeSlack
from tests.fake_telegram import FakeTelegram
from tests.faults.inprocess import SLACK_TOKEN, TELEGRAM_TOKEN
from tests.servers import running
from tests.test_teams import FakeConnector


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
