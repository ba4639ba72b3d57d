"""Hostile input on the Slack, Telegram and Teams webhooks, in-process through the whole app:
4xx and a short log line, never 500: each channel checks before it parses."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest

from tests.faults.conftest import SLACK_SECRET, TELEGRAM_SECRET

pytestmark = pytest.mark.faults

DEEP = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
LONG_NUMBER = b'{"type": "event_callback", "n": ' + b"9" * 5000 + b"}"
NOT_UTF8 = b'{"type": "\xff\xfe\xc3"}'


def slack_signed(body: bytes, timestamp: str | None = None) -> dict[str, str]:
    stamp = timestamp or str(int(time.time()))
    signed = b"v0:" + stamp.encode() + b":" + body
    digest = hmac.new(SLACK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def slack_forged(timestamp: str) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64}


JSON = {"Content-Type": "application/json"}
SLACK_CASES = [
    ("no signature", b'{"type": "event_callback"}', {}),
    ("wrong signature", b'{"type": "event_callback"}', slack_forged(str(int(time.time())))),
    ("non-numeric timestamp", b"{}", slack_forged("soon")),
    ("empty timestamp", b"{}", slack_forged("")),
    ("5000-digit timestamp", b"{}", slack_forged("1" * 5000)),
    ("unsigned, not UTF-8", NOT_UTF8, slack_forged(str(int(time.time())))),
    ("unsigned, deeply nested", DEEP_OBJECT, slack_forged(str(int(time.time())))),
    ("unsigned, 5000-digit number", LONG_NUMBER, slack_forged(str(int(time.time())))),
    ("signed, deeply nested", DEEP_OBJECT, slack_signed(DEEP_OBJECT)),
    ("signed, 5000-digit number", LONG_NUMBER, slack_signed(LONG_NUMBER)),
]


def cases(rows: list[tuple[str, bytes, dict[str, str]]]) -> list[object]:
    return [pytest.param(what, body, headers, id=what) for what, body, headers in rows]


@pytest.mark.parametrize(("what", "body", "headers"), cases(SLACK_CASES))
async def test_slack_answers_hostile_requests_with_4xx(
    client: httpx.AsyncClient, what: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/slack/events", content=body, headers={**JSON, **headers})
    print(f"tried {what} on /slack/events: {response.status_code}")
    assert 400 <= response.status_code < 500


TELEGRAM = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET, **JSON}
TELEGRAM_CASES = [
    ("no secret", b'{"update_id": 1}', {"X-Telegram-Bot-Api-Secret-Token": "guess"}),
    ("deeply nested", DEEP, TELEGRAM),
    ("deeply nested object", DEEP_OBJECT, TELEGRAM),
    ("5000-digit update id", b'{"update_id": ' + b"7" * 5000 + b"}", TELEGRAM),
    ("not UTF-8", NOT_UTF8, TELEGRAM),
    ("not an update", b'{"update_id": "x", "message": []}', TELEGRAM),
]


@pytest.mark.parametrize(("what", "body", "headers"), cases(TELEGRAM_CASES))
async def test_telegram_answers_hostile_requests_with_4xx(
    client: httpx.AsyncClient, what: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/telegram/webhook", content=body, headers=headers)
    print(f"tried {what} on /telegram/webhook: {response.status_code}")
    assert 400 <= response.status_code < 500


TEAMS_CASES = [
    ("no token", b'{"type": "message"}', {}),
    ("deeply nested", DEEP, {}),
    ("deeply nested object", DEEP_OBJECT, {}),
    ("5000-digit number", LONG_NUMBER, {}),
    ("not UTF-8", NOT_UTF8, {}),
    ("forged token", b'{"type": "message"}', {"Authorization": "Bearer a.b.c"}),
]


@pytest.mark.parametrize(("what", "body", "headers"), cases(TEAMS_CASES))
async def test_teams_answers_hostile_requests_with_4xx(
    client: httpx.AsyncClient, what: str, body: bytes, headers: dict[str, str]
) -> None:
    response = await client.post("/api/messages", content=body, headers={**JSON, **headers})
    print(f"tried {what} on /api/messages: {response.status_code}")
    assert 400 <= response.status_code < 500
