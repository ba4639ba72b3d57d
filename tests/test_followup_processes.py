"""Two `tripcheck serve` processes on one database (a SQLite file, a PostgreSQL database),
with Telegram on against the fake Bot API: a due follow-up is sent by one of them, once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from bot.messages import ConversationKey
from bot.state import ConversationState
from storage import open_url
from tests.cli_helpers import TRIPCHECK, env
from tests.drivers.telegram import SECRET, TOKEN, USER_ID
from tests.fake_telegram import FakeTelegram
from tests.servers import free_port, running
from tests.test_storage import record

DAY = 86400.0
READY_SECONDS = 60.0


async def ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Waits until a server answers /readyz (its lifespan, and so its poller, has started)."""
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server ended"
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


async def test_two_server_processes_send_a_due_follow_up_once(
    database_url: str, tmp_path: Path
) -> None:
    key = ConversationKey("telegram", str(USER_ID), str(USER_ID))
    store = await open_url(database_url)
    decided = record(time.time() - 20 * DAY).model_copy(
        update={"channel": key.channel, "chat": key.chat, "user_id": key.user, "title": "Mässa"}
    )
    async with store.turn(key) as tx:
        decision_id = await tx.record_decision(decided, ConversationState(lang="sv"))
        await tx.schedule_followup(decision_id, time.time() - 60, "sv")
    fake = FakeTelegram(TOKEN)

    def asked() -> list[dict[str, Any]]:
        return [m for m in fake.sent(USER_ID) if "Mässa" in m["text"]]

    async with running(fake.app) as api_url:
        settings = {
            "TRIPCHECK_DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "TELEGRAM_API_URL": api_url,
            "TRIPCHECK_LOG_LEVEL": "warning",
        }
        processes, urls = [], []
        try:
            for _ in range(2):
                port = free_port()
                command = [TRIPCHECK, "serve", "--host", "127.0.0.1", "--port", str(port)]
                processes.append(
                    subprocess.Popen(
                        command,
                        env=env(tmp_path / "unused.db", **settings),
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
                urls.append(f"http://127.0.0.1:{port}")
            for url, process in zip(urls, processes, strict=True):
                await ready(url, process)
            await fake.wait_for(asked, timeout=READY_SECONDS)
            deadline = time.monotonic() + READY_SECONDS
            while True:
                stored = await store.get_decision(decision_id)
                if stored is not None and stored.followed_up_at is not None:
                    break
                assert time.monotonic() < deadline, "the follow-up was never marked sent"
                await asyncio.sleep(0.05)
        finally:
            stop(processes)
            await store.close()
        (question,) = asked()
        assert question["reply_markup"]["inline_keyboard"]
