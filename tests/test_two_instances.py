"""Two `tripcheck serve` processes on one database (a PostgreSQL database, and separately one
SQLite file): a sender's messages split across both are all applied, in order; twenty presses
of "save" make one decision; a Slack event delivered to both is handled once; a logout on one
is honoured by the other; and the admin login limit counts the failures made on either."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from adapters import admin_auth
from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from storage import open_url
from tests.cli_helpers import PLACES_CACHE
from tests.drivers.slack import SIGNING_SECRET, TOKEN, SlackUser, event_body, signature_headers
from tests.fake_slack import FakeSlack, dm_channel
from tests.instances import (
    REST_TOKEN,
    Instance,
    server_environment,
    start_instances,
    stop_all,
    tripcheck,
)
from tests.servers import running
from tests.test_admin_web import ADMIN, PASSWORD, Browser, csrf_of, location
from tests.test_conversation import SWEDISH_CHECK

pytestmark = pytest.mark.slow
ADMIN_SECRET = "two-instances-admin-secret"


@pytest.fixture
async def instances(database_url: str, tmp_path: Path) -> AsyncIterator[list[Instance]]:
    """Two servers (REST only) on the same database."""
    started = await start_instances(2, server_environment(database_url, PLACES_CACHE), tmp_path)
    yield started
    await stop_all(started)


async def _send(client: httpx.AsyncClient, url: str, sender: str, **body: str) -> list[Any]:
    response = await client.post(
        f"{url}/webhooks/rest",
        json={"sender": sender, **body},
        headers={"Authorization": f"Bearer {REST_TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    replies: list[Any] = response.json()
    return replies


async def test_concurrent_messages_of_one_sender_are_all_applied_in_order(
    instances: list[Instance], database_url: str
) -> None:
    urls = [instance.url for instance in instances]
    async with httpx.AsyncClient() as client:
        await _send(client, urls[0], "anna", message="hej")
        texts = [f"obegripligt {n}" for n in range(10)]
        await asyncio.gather(
            *(_send(client, urls[n % 2], "anna", message=text) for n, text in enumerate(texts))
        )
    store = await open_url(database_url)
    state = await store.load_conversation(ConversationKey("rest", "anna", "anna"))
    await store.close()
    assert state is not None
    received = [entry["in"] for entry in state.transcript]
    assert sorted(received[-10:]) == sorted(texts), received
    moments = [entry["at"] for entry in state.transcript]
    assert moments == sorted(moments)


async def test_twenty_concurrent_saves_make_one_decision(
    instances: list[Instance], database_url: str
) -> None:
    urls = [instance.url for instance in instances]
    async with httpx.AsyncClient() as client:
        await _send(client, urls[0], "bo", message="hej")
        for step, text in SWEDISH_CHECK:
            replies = await _send(client, urls[0], "bo", message=text)
            assert any(r.get("step") for r in replies), (step, replies)
        await asyncio.gather(*(_send(client, urls[n % 2], "bo", choice="save") for n in range(20)))
    store = await open_url(database_url)
    count = await store.decision_log.count_decisions(DecisionFilter(channel="rest"))
    await store.close()
    assert count == 1


# --- Slack: one event delivered to both ---------------------------------------------------


async def _post_event(client: httpx.AsyncClient, url: str, body: bytes) -> None:
    headers = {"Content-Type": "application/json", **signature_headers(body)}
    response = await client.post(f"{url}/slack/events", content=body, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_slack_event_delivered_to_both_instances_is_handled_once(
    database_url: str, tmp_path: Path
) -> None:
    fake = FakeSlack(TOKEN)
    async with running(fake.app) as fake_url:
        fake.url = fake_url
        environment = server_environment(
            database_url,
            PLACES_CACHE,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"{fake_url}/api/",
        )
        instances = await start_instances(2, environment, tmp_path)
        try:
            twice = json.dumps(event_body(SlackUser.message_event("U0ANNA", "hello"))).encode()
            once = json.dumps(event_body(SlackUser.message_event("U0BERTIL", "hello"))).encode()
            async with httpx.AsyncClient(timeout=30) as client:
                # The same signed delivery (one event_id) reaches both, as after a retry that
                # the proxy sent to the other instance; another user's reaches one only.
                await asyncio.gather(
                    *(_post_event(client, instance.url, twice) for instance in instances),
                    _post_event(client, instances[0].url, once),
                )
            # Stopping drains what each acknowledged, so everything either did is done.
            assert await stop_all(instances) == [0, 0], [i.output() for i in instances]
        finally:
            await stop_all(instances)

    posted_to = [call["channel"] for call in fake.calls_to("chat.postMessage")]
    one_turn = posted_to.count(dm_channel("U0BERTIL"))
    assert one_turn >= 1
    assert posted_to.count(dm_channel("U0ANNA")) == one_turn
    store = await open_url(database_url)
    state = await store.load_conversation(ConversationKey("slack", dm_channel("U0ANNA"), "U0ANNA"))
    await store.close()
    assert state is not None
    assert [entry["in"] for entry in state.transcript] == ["hello"]


# --- the web admin: sessions and the login limit are shared -------------------------------


@pytest.fixture
async def admin_instances(database_url: str, tmp_path: Path) -> AsyncIterator[list[Instance]]:
    """Two servers with the web admin on (one secret), an account in the shared database."""
    environment = server_environment(
        database_url, PLACES_CACHE, TRIPCHECK_ADMIN_SECRET=ADMIN_SECRET
    )
    added = subprocess.run(
        [tripcheck(), "admin", "add", ADMIN, "--password-stdin"],
        input=PASSWORD + "\n",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    started = await start_instances(2, environment, tmp_path)
    yield started
    await stop_all(started)


async def test_a_logout_on_one_instance_ends_the_session_on_the_other(
    admin_instances: list[Instance],
) -> None:
    first, second = Browser(admin_instances[0].url), Browser(admin_instances[1].url)
    try:
        assert location(await first.login()) == "/admin"
        second.cookies = dict(first.cookies)
        assert (await second.get("/admin")).status_code == 200
        page = await first.get("/admin")
        assert location(await first.post("/admin/logout", {"csrf": csrf_of(page.text)}))
        refused = await second.get("/admin")
        assert urlsplit(location(refused)).path == "/admin/login"
    finally:
        await first.close()
        await second.close()


async def test_failed_logins_on_either_instance_count_toward_one_limit(
    admin_instances: list[Instance],
) -> None:
    browsers = [Browser(instance.url) for instance in admin_instances]
    try:
        for attempt in range(admin_auth.MAX_FAILURES):
            wrong = await browsers[attempt % 2].login(password="wrong password!!")
            assert wrong.status_code == 401
        # Neither instance saw MAX_FAILURES failures by itself; together they did.
        for browser in browsers:
            limited = await browser.login()
            assert limited.status_code == 429
            assert "tripcheck_admin" not in browser.cookies
    finally:
        for browser in browsers:
            await browser.close()
