"""`/metrics`: scraped over real HTTP after real traffic and read with Prometheus' own parser."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters import teams, telegram
from adapters.slack import CountedRateLimits
from adapters.teams_cards import TeamsMessage
from bot.engine import Engine
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.fake_teams import FakeConnector
from tests.fake_telegram import FakeTelegram
from tests.servers import free_port, running
from tests.test_conversation import ENGLISH_CHECK
from tests.test_teams import PERSONAL
from tripcheck.metrics import PrometheusMetrics
from tripcheck.server import create_app

REST_TOKEN = "rest-token-for-metrics-tests"
METRICS_TOKEN = "metrics-token-for-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, by name and labels, through prometheus_client's parser."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def scrape(url: str, token: str | None = METRICS_TOKEN) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


@pytest.fixture
async def metered(rules: RuleSet) -> AsyncIterator[tuple[str, Engine]]:
    """The server with the REST channel, metrics behind a token on the public port."""
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, observer=PrometheusMetrics())
    values = {"TRIPCHECK_REST_TOKEN": REST_TOKEN, "TRIPCHECK_METRICS_TOKEN": METRICS_TOKEN}
    async with running(create_app(Settings.model_validate(values), engine)) as url:
        yield url, engine


async def rest(client: httpx.AsyncClient, url: str, body: dict[str, str]) -> list[dict[str, str]]:
    headers = {"Authorization": f"Bearer {REST_TOKEN}"}
    response = await client.post(f"{url}/webhooks/rest", json=body, headers=headers)
    assert response.status_code == 200
    replies: list[dict[str, str]] = response.json()
    return replies


async def whole_check(url: str, sender: str) -> int:
    """A whole check over the REST channel, from hello to save; the number of turns."""
    async with httpx.AsyncClient() as client:
        await rest(client, url, {"sender": sender, "message": "hello"})
        for _, text in ENGLISH_CHECK:
            await rest(client, url, {"sender": sender, "message": text})
        replies = await rest(client, url, {"sender": sender, "choice": "save"})
    assert any(reply["type"] == "decision" for reply in replies)
    return len(ENGLISH_CHECK) + 2


async def test_a_whole_check_is_counted_by_channel_step_and_outcome(
    metered: tuple[str, Engine],
) -> None:
    url, _ = metered
    turns = await whole_check(url, "web-1")
    samples = await scrape(url)
    assert value(samples, "tripcheck_decisions_total", channel="rest", outcome="travel") == 1
    assert value(samples, "tripcheck_turns_total", channel="rest", step="kind") == 1
    # The summary, and again once the date is typed there.
    assert value(samples, "tripcheck_turns_total", channel="rest", step="confirm") == 2
    # The save leaves no check open.
    assert value(samples, "tripcheck_turns_total", channel="rest", step="none") == 1
    counted = sum(v for (name, _), v in samples.items() if name == "tripcheck_turns_total")
    assert counted == turns
    assert value(samples, "tripcheck_turn_seconds_count", channel="rest") == turns
    assert value(samples, "tripcheck_turn_seconds_bucket", channel="rest", le="+Inf") == turns
    assert value(samples, "tripcheck_storage_errors_total") == 0


@pytest.mark.parametrize("token", [None, "wrong-token", REST_TOKEN])
async def test_a_scrape_without_the_metrics_token_is_refused(
    metered: tuple[str, Engine], token: str | None
) -> None:
    url, _ = metered
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{url}/metrics", headers=headers)
    assert response.status_code == 401
    assert "tripcheck_turns" not in response.text


async def test_without_a_token_metrics_are_only_on_their_own_port(rules: RuleSet) -> None:
    port = free_port()
    values = {"TRIPCHECK_REST_TOKEN": REST_TOKEN, "TRIPCHECK_METRICS_PORT": str(port)}
    settings = Settings.model_validate(values | {"TRIPCHECK_HOST": "127.0.0.1"})
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, observer=PrometheusMetrics())
    async with running(create_app(settings, engine)) as url:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/metrics")).status_code == 404
            await rest(client, url, {"sender": "web-2", "message": "hello"})
        samples = await scrape(f"http://127.0.0.1:{port}", token=None)
        assert value(samples, "tripcheck_turns_total", channel="rest", step="kind") == 1
    # The metrics port closes with the server.
    with pytest.raises(httpx.ConnectError):
        await scrape(f"http://127.0.0.1:{port}", token=None)


async def test_with_both_the_metrics_port_asks_for_the_token_too(rules: RuleSet) -> None:
    port = free_port()
    values = {"TRIPCHECK_METRICS_PORT": str(port), "TRIPCHECK_METRICS_TOKEN": METRICS_TOKEN}
    settings = Settings.model_validate(values | {"TRIPCHECK_HOST": "127.0.0.1"})
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, observer=PrometheusMetrics())
    async with running(create_app(settings, engine)), httpx.AsyncClient() as client:
        refused = await client.get(f"http://127.0.0.1:{port}/metrics")
        assert refused.status_code == 401
        assert await scrape(f"http://127.0.0.1:{port}")


async def test_a_storage_failure_is_counted(rules: RuleSet, tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    storage = await SQLiteStorage.open(db)
    engine = Engine(rules, storage, observer=PrometheusMetrics())
    values = {"TRIPCHECK_REST_TOKEN": REST_TOKEN, "TRIPCHECK_METRICS_TOKEN": METRICS_TOKEN}
    async with running(create_app(Settings.model_validate(values), engine)) as url:
        os.remove(db)
        async with httpx.AsyncClient() as client:
            replies = await rest(client, url, {"sender": "web-3", "message": "hello"})
        assert replies[0]["type"] == "error"
        samples = await scrape(url)
    assert value(samples, "tripcheck_storage_errors_total") == 1


# PTB itself warns when it builds RetryAfter, about a future type of retry_after.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_telegram_flood_control_and_failures_are_counted(
    rules: RuleSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(telegram, "MAX_RETRY_WAIT", 0.01)
    fake = FakeTelegram("123:abc")
    observer = PrometheusMetrics()
    async with running(fake.app) as api_url:
        values = {"TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "s"}
        values |= {"TELEGRAM_API_URL": api_url, "TRIPCHECK_METRICS_TOKEN": METRICS_TOKEN}
        settings = Settings.model_validate(values)
        engine = Engine(rules, await SQLiteStorage.open(":memory:"), observer=observer)
        channel = telegram.channel(settings, engine)
        assert channel is not None
        async with running(create_app(settings, engine, [channel])) as url:
            # The first reply is throttled (then sent again), the next one fails outright.
            fake.fail_next("sendMessage", 429, retry_after=5)
            fake.fail_next("sendMessage", 500)
            user = {"id": 77, "is_bot": False, "first_name": "Eva", "language_code": "en"}
            message = {"message_id": 1, "date": 0, "chat": {"id": 77, "type": "private"}}
            update = {"update_id": 1, "message": message | {"from": user, "text": "hello"}}
            async with httpx.AsyncClient() as client:
                posted = await client.post(
                    f"{url}/telegram/webhook",
                    json=update,
                    headers={"X-Telegram-Bot-Api-Secret-Token": "s"},
                )
            assert posted.status_code == 200
            await channel.settled(10.0)
            samples = await scrape(url)
    assert value(samples, "tripcheck_platform_rate_limited_total", platform="telegram") == 1
    assert value(samples, "tripcheck_platform_errors_total", platform="telegram") == 1
    assert value(samples, "tripcheck_turns_total", channel="telegram", step="kind") == 1


async def test_teams_throttling_and_refusals_are_counted() -> None:
    fake = FakeConnector()
    fake.refuse_next = [429, 500]
    observer = PrometheusMetrics()
    async with running(fake.app) as url:
        connector = teams.Connector(None, sleep=_no_wait, observer=observer)
        assert await connector.send(url, PERSONAL, TeamsMessage(text="hello")) is None
        await connector.close()
    samples = parse(observer.exposition().decode())
    assert value(samples, "tripcheck_platform_rate_limited_total", platform="teams") == 1
    assert value(samples, "tripcheck_platform_errors_total", platform="teams") == 1


async def test_slack_rate_limits_are_counted_and_waited_out() -> None:
    answered: list[int] = []

    async def post_message(request: Request) -> JSONResponse:
        # Slack's 429: Retry-After in seconds; the second try goes through.
        if not answered:
            answered.append(429)
            return JSONResponse({"ok": False}, status_code=429, headers={"Retry-After": "0"})
        answered.append(200)
        return JSONResponse({"ok": True, "channel": "D1", "ts": "1.0"})

    fake = Starlette(routes=[Route("/api/chat.postMessage", post_message, methods=["POST"])])
    observer = PrometheusMetrics()
    async with running(fake) as url:
        client = AsyncWebClient(token="xoxb-test", base_url=f"{url}/api/")
        client.retry_handlers.append(CountedRateLimits(observer, max_retry_count=2))
        sent = await client.chat_postMessage(channel="D1", text="hello")
    assert sent["ok"] and answered == [429, 200]
    samples = parse(observer.exposition().decode())
    assert value(samples, "tripcheck_platform_rate_limited_total", platform="slack") == 1


async def _no_wait(seconds: float) -> None:
    pass
