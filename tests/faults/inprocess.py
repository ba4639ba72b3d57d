"""Deliveries to our app with its real channels, on loopback, with the platforms' fakes
behind it: what each platform sends, signed or authenticated as it signs them, and a count
of the engine's turns once the app has shut down (which waits for all acknowledged work)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.servers import running
from tripcheck.server import create_app

SLACK_SECRET = "slack-signing-secret-for-deliveries"
SLACK_TOKEN = "xoxb-deliveries"
TELEGRAM_TOKEN = "123:deliveries"
TELEGRAM_SECRET = "telegram-secret-for-deliveries"


async def turns_after(
    copies: int,
    rules: RuleSet,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> tuple[list[int], int]:
    """Posts `body` `copies` times to our app; the statuses, and the turns it made."""
    caplog.set_level(logging.INFO)
    storage = await SQLiteStorage.open(":memory:")
    app = create_app(settings, Engine(rules, storage))
    async with running(app) as url, httpx.AsyncClient() as client:
        statuses = [
            (await client.post(f"{url}{path}", content=body, headers=headers)).status_code
            for _ in range(copies)
        ]
    turns = [r for r in caplog.records if r.name == "tripcheck.engine" and r.msg == "turn"]
    return statuses, len(turns)


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Log lines with a traceback, and errors no one retrieved (asyncio reports those)."""
    return [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.exc_info is not None or "never retrieved" in r.getMessage()
    ]


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


def slack_dm_event(event_id: str, user: str = "U0ANNA", text: str = "hej") -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "api_app_id": "A0TRIPCHECK",
        "event_id": event_id,
        "event_time": int(time.time()),
        "event": {
            "type": "message",
            "channel": "D0ANNA",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": f"{int(time.time())}.000100",
        },
    }


def telegram_settings(api_url: str) -> Settings:
    return Settings.model_validate(
        {
            "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_URL": api_url,
        }
    )


TELEGRAM_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def telegram_update(update_id: int, text: str = "hello", name: str = "Giulia") -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": name, "language_code": "en"},
            "text": text,
        },
    }


TEAMS_SETTINGS = Settings.model_validate(
    {"TEAMS_CLIENT_ID": "bot", "TEAMS_ALLOW_UNAUTHENTICATED": "true"}
)


def teams_activity(
    activity_id: str, connector_url: str, aad: str = "aad-anna", text: str = "hello"
) -> dict[str, Any]:
    return {
        "type": "message",
        "id": activity_id,
        "timestamp": "2026-09-21T10:00:00.000Z",
        "serviceUrl": connector_url,
        "channelId": "msteams",
        "from": {"id": f"29:{aad}", "name": "Anna", "aadObjectId": aad},
        "conversation": {"id": f"a:personal-{aad}", "conversationType": "personal"},
        "recipient": {"id": "28:bot", "name": "Tripcheck"},
        "text": text,
        "locale": "en-US",
    }
