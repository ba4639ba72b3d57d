"""Two `tripcheck serve` processes on one database (a PostgreSQL database, and separately one
SQLite file): a sender's messages split across both are all applied, in order, and twenty
presses of "save" make one decision."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from storage import open_url
from tests.cli_helpers import TRIPCHECK, env
from tests.servers import free_port
from tests.test_conversation import SWEDISH_CHECK

TOKEN = "two-instances-token"


@pytest.fixture
def instances(database_url: str, tmp_path: Path) -> Iterator[list[str]]:
    """Two servers on the same database; their base URLs."""
    processes: list[subprocess.Popen[bytes]] = []
    urls = []
    for _ in range(2):
        port = free_port()
        processes.append(
            subprocess.Popen(
                [TRIPCHECK, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env(
                    tmp_path / "unused.db",
                    TRIPCHECK_DATABASE_URL=database_url,
                    TRIPCHECK_REST_TOKEN=TOKEN,
                    TRIPCHECK_LOG_LEVEL="warning",
                ),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            _wait_until_ready(url)
        yield urls
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _wait_until_ready(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready")


async def _send(client: httpx.AsyncClient, url: str, sender: str, **body: str) -> list[dict]:  # type: ignore[type-arg]
    response = await client.post(
        f"{url}/webhooks/rest",
        json={"sender": sender, **body},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    replies: list[dict] = response.json()  # type: ignore[type-arg]
    return replies


async def test_concurrent_messages_of_one_sender_are_all_applied_in_order(
    instances: list[str], database_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        await _send(client, instances[0], "anna", message="hej")
        texts = [f"obegripligt {n}" for n in range(10)]
        await asyncio.gather(
            *(_send(client, instances[n % 2], "anna", message=text) for n, text in enumerate(texts))
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
    instances: list[str], database_url: str
) -> None:
    async with httpx.AsyncClient() as client:
        await _send(client, instances[0], "bo", message="hej")
        for step, text in SWEDISH_CHECK:
            replies = await _send(client, instances[0], "bo", message=text)
            assert any(r.get("step") for r in replies), (step, replies)
        await asyncio.gather(
            *(_send(client, instances[n % 2], "bo", choice="save") for n in range(20))
        )
    store = await open_url(database_url)
    count = await store.decision_log.count_decisions(DecisionFilter(channel="rest"))
    await store.close()
    assert count == 1
