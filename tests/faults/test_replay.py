"""Replays: the same delivery sent again (a platform's retry, or a captured request sent
by someone else within the signature's five minutes) makes one turn, not one per copy.
Turns are counted from the engine's log once the app has shut down, which waits for all
the work it acknowledged. REST has no delivery id, so there is nothing to replay there: a
client that posts a message twice means it twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from bot.sqlite_store import SQLiteStorage
from rules.ruleset import RuleSet
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.fake_telegram import FakeTelegram
from tests.servers import running
from tests.test_teams import FakeConnector
from tripcheck.server import create_app

pytestmark = pytest.mark.faults

COPIES = 4
SLACK_SECRET = "slack-signing-secret-for-replays"
SLACK_TOKEN = "xoxb-replays"
TELEGRAM_TOKEN = "123:replays"
TELEGRAM_SECRET = "telegram-secret-for-replays"


async def turns_after_copies(
    rules: RuleSet,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[list[int], int]:
    """Posts `body` COPIES times to our app; the statuses, and the turns it made."""
    caplog.set_level(logging.INFO)
    storage = await SQLiteStorage.open(":memory:")
    app = create_app(settings, Engine(rules, storage))
    async with running(app) as url, httpx.AsyncClient() as client:
        statuses = [
            (await client.post(f"{url}{path}", content=body, headers=headers)).status_code
            for _ in range(COPIES)
        ]
    turns = [r for r in caplog.records if r.name == "tripcheck.engine" and r.msg == "turn"]
    return statuses, len(turns)


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlack]:
    api = FakeSlack(SLACK_TOKEN)
    async with running(api.app) as url:
        api.url = url
        yield api


def slack_settings(api: FakeSlack) -> Settings:
    return Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": f"{api.url}/api/",
        }
    )


def slack_signed(body: bytes, content_type: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signed = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SLACK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
    }


async def test_a_replayed_slack_event_makes_one_turn(
    rules: RuleSet, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    event: dict[str, Any] = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "api_app_id": "A0TRIPCHECK",
        "event_id": "Ev0REPLAYED",
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "D0ANNA",
            "channel_type": "im",
            "user": "U0ANNA",
            "text": "hej",
            "ts": f"{int(time.time())}.000100",
        },
    }
    body = json.dumps(event).encode()
    statuses, turns = await turns_after_copies(
        rules,
        slack_settings(slack_api),
        caplog,
        "/slack/events",
        body,
        slack_signed(body, "application/json"),
    )
    print(f"tried one Slack event {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


@pytest.mark.xfail(
    strict=True,
    reason=(
        "adapter wiring pending: SlackChannel._on_command must claim the delivery first, e.g. "
        "engine.storage.claim_delivery('slack', 'command:' + command['trigger_id'], now), "
        "and stop when it is not the first"
    ),
)
async def test_a_replayed_slash_command_makes_one_turn(
    rules: RuleSet, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    form = {
        "team_id": TEAM_ID,
        "channel_id": "C0GENERAL",
        "user_id": "U0ANNA",
        "command": "/tripcheck",
        "text": "",
        "api_app_id": "A0TRIPCHECK",
        "response_url": slack_api.response_url_for(1),
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    body = urlencode(form).encode()
    statuses, turns = await turns_after_copies(
        rules,
        slack_settings(slack_api),
        caplog,
        "/slack/events",
        body,
        slack_signed(body, "application/x-www-form-urlencoded"),
    )
    print(f"tried one signed /tripcheck {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


async def test_a_replayed_telegram_update_makes_one_turn(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeTelegram(TELEGRAM_TOKEN)
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Giulia", "language_code": "en"},
            "text": "hello",
        },
    }
    async with running(api.app) as api_url:
        settings = Settings.model_validate(
            {
                "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
                "TELEGRAM_API_URL": api_url,
            }
        )
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        statuses, turns = await turns_after_copies(
            rules, settings, caplog, "/telegram/webhook", json.dumps(update).encode(), headers
        )
    print(f"tried one Telegram update {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


async def test_a_replayed_teams_activity_makes_one_turn(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    connector = FakeConnector()
    async with running(connector.app) as connector_url:
        activity = {
            "type": "message",
            "id": "1790000000001",
            "timestamp": "2026-09-21T10:00:00.000Z",
            "serviceUrl": connector_url,
            "channelId": "msteams",
            "from": {"id": "29:aad-anna", "name": "Anna", "aadObjectId": "aad-anna"},
            "conversation": {"id": "a:personal-replay", "conversationType": "personal"},
            "recipient": {"id": "28:bot", "name": "Tripcheck"},
            "text": "hello",
            "locale": "en-US",
        }
        settings = Settings.model_validate(
            {"TEAMS_CLIENT_ID": "bot", "TEAMS_ALLOW_UNAUTHENTICATED": "true"}
        )
        statuses, turns = await turns_after_copies(
            rules,
            settings,
            caplog,
            "/api/messages",
            json.dumps(activity).encode(),
            {"Content-Type": "application/json"},
        )
    print(f"tried one Teams activity {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


@pytest.mark.skip(reason="REST has no delivery id: a message posted twice is meant twice")
def test_a_replayed_rest_message() -> None:
    """Kept as a marker in the suite's report, so that the gap is visible."""
