"""10,000 seeded hostile bodies to the REST channel (in-process, through the whole app with
its body cap): no 5xx, no traceback in the log, and the engine still answers afterwards.
The issue saw 1,535 × 500 in 50,000 and 23 MB of tracebacks."""

from __future__ import annotations

import collections
import logging

import httpx
import pytest

from bot.engine import Engine
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.faults.hostile import SEED, hostile_bodies
from tripcheck.server import create_app

pytestmark = pytest.mark.faults

COUNT = 10_000
TOKEN = "rest-token-for-the-fuzz"


async def test_ten_thousand_hostile_bodies_get_no_5xx_and_no_traceback(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage)
    app = create_app(Settings.model_validate({"TRIPCHECK_REST_TOKEN": TOKEN}), engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    statuses: collections.Counter[int] = collections.Counter()
    server_errors: list[bytes] = []
    caplog.set_level(logging.WARNING)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        for body in hostile_bodies(COUNT):
            response = await client.post("/webhooks/rest", content=body, headers=headers)
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors.append(body[:200])
        after = await client.post(
            "/webhooks/rest", json={"sender": "after", "message": "hej"}, headers=headers
        )
    await storage.close()
    with_traceback = [r for r in caplog.records if r.exc_info is not None]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    print(
        f"tried {COUNT} hostile bodies (seed {SEED}) on /webhooks/rest: statuses "
        f"{dict(sorted(statuses.items()))}, {len(with_traceback)} tracebacks, "
        f"{len(errors)} error lines; an ordinary message afterwards: {after.status_code}"
    )
    assert not server_errors, server_errors[:5]
    assert not with_traceback, [r.getMessage() for r in with_traceback[:5]]
    assert not errors, [r.getMessage() for r in errors[:5]]
    assert after.status_code == 200 and after.json()[-1]["type"] == "question"
    assert statuses[200] > COUNT // 10, "too few bodies reached the engine to test it"
