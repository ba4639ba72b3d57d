"""10,000 seeded hostile bodies to each platform webhook (in-process, through the whole app):
no 5xx. Slack's are unsigned (what anyone can send); Telegram's carry the secret (what a
leaked secret allows); Teams' have no token."""

from __future__ import annotations

import collections

import httpx
import pytest

from tests.faults.conftest import TELEGRAM_SECRET
from tests.faults.hostile import SEED, hostile_bodies
from tests.faults.test_webhook_faults import slack_forged

pytestmark = pytest.mark.faults

COUNT = 10_000


WEBHOOKS = [
    pytest.param(
        "/slack/events",
        slack_forged("1790000000"),
        id="slack",
    ),
    pytest.param(
        "/telegram/webhook",
        {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
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
