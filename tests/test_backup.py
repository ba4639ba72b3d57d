"""Backup while `tripcheck serve` writes, restore, and erasures made after the backup applied
again: the real commands in subprocesses, as docs/operations.md tells an operator to run them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.decision_log import DecisionFilter
from bot.erasure import erasure_mark
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import TRIPCHECK, env
from tests.servers import free_port
from tests.test_conversation import ENGLISH_CHECK

REST_TOKEN = "rest-token-for-backup-tests"
METRICS_TOKEN = "metrics-token-for-backup-tests"
ERASURE_KEY = "erasure-key-for-backup-tests"
WRITERS = 3
# Each writer goes on until the backup is done, but never past this many checks.
MOST_CHECKS_PER_WRITER = 40


async def tripcheck(db: Path, *args: str, key: str | None = ERASURE_KEY) -> str:
    """Runs one `tripcheck` command to its end; its standard output (it must succeed)."""
    extra = {"TRIPCHECK_ERASURE_KEY": key} if key else {}
    process = await asyncio.create_subprocess_exec(
        TRIPCHECK,
        *args,
        env=env(db, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


@contextlib.asynccontextmanager
async def serving(db: Path) -> AsyncIterator[str]:
    """`tripcheck serve` on `db` with the REST channel and metrics; yields its base URL and
    stops it with SIGTERM, as systemd does."""
    port = free_port()
    extra = {"TRIPCHECK_REST_TOKEN": REST_TOKEN, "TRIPCHECK_METRICS_TOKEN": METRICS_TOKEN}
    process = await asyncio.create_subprocess_exec(
        TRIPCHECK,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        env=env(db, **extra),
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                assert process.returncode is None, "tripcheck serve ended"
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("tripcheck serve did not get ready")
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0


@dataclass
class Writers:
    """Whole checks over REST, one sender per check, several at once; what was acknowledged."""

    url: str
    decided: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def check(self, client: httpx.AsyncClient, sender: str) -> None:
        headers = {"Authorization": f"Bearer {REST_TOKEN}"}
        messages = [{"message": "hello"}]
        messages += [{"message": text} for _, text in ENGLISH_CHECK]
        messages.append({"choice": "save"})
        for message in messages:
            response = await client.post(
                f"{self.url}/webhooks/rest", json={"sender": sender, **message}, headers=headers
            )
            assert response.status_code == 200
        assert any(reply["type"] == "decision" for reply in response.json())
        self.decided.append(sender)

    async def writer(self, number: int) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            for check in range(MOST_CHECKS_PER_WRITER):
                if self.stop.is_set():
                    return
                await self.check(client, f"writer-{number}-{check}")


async def test_a_backup_taken_while_the_server_writes_restores_whole(tmp_path: Path) -> None:
    live, copy, restored = tmp_path / "live.db", tmp_path / "backup.db", tmp_path / "restored.db"
    async with serving(live) as url:
        writers = Writers(url)
        writing = asyncio.gather(*(writers.writer(n) for n in range(WRITERS)))
        while len(writers.decided) < WRITERS and not writing.done():
            await asyncio.sleep(0.01)
        decided_before = list(writers.decided)
        # The backup runs in its own process while the server goes on writing.
        assert f"backed up to {copy}" in await tripcheck(live, "db", "backup", str(copy))
        decided_after = len(writers.decided)
        writers.stop.set()
        await writing
        # The checks under way when the backup ended were finished after it.
        assert len(writers.decided) > decided_after, "the backup ran after the writes"
        # One person asks to be erased after the backup was taken.
        erased = decided_before[0]
        said = await tripcheck(live, "decisions", "erase", "--user", erased)
        assert erasure_mark(ERASURE_KEY, erased) in said and erased not in said
        async with httpx.AsyncClient() as client:
            scraped = await client.get(
                f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
    decisions = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
        if sample.name == "tripcheck_decisions_total"
    }
    assert decisions == {(("channel", "rest"), ("outcome", "travel")): len(writers.decided)}

    # Restore: the backup file put in place of the database, the server stopped.
    erasures = tmp_path / "erasures.jsonl"
    erasures.write_text(await tripcheck(live, "db", "erasures"), encoding="utf-8")
    shutil.copyfile(copy, restored)
    with contextlib.closing(sqlite3.connect(restored)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = await SQLiteStorage.open(restored)
    try:
        log = store.decision_log
        every = [d async for d in log.stream_decisions(DecisionFilter())]
        # Every decision parses, the ids run unbroken, and the month totals agree with them.
        assert [d.id for d in every] == list(range(1, len(every) + 1))
        assert len(decided_before) <= len(every) <= decided_after
        assert await log.count_decisions(DecisionFilter()) == len(every)
        assert sum(month.total for month in await log.stats(DecisionFilter())) == len(every)
        assert all(d.outcome == "travel" and d.answers for d in every)
        assert set(decided_before) <= {d.user_id for d in every}
        assert erased in await log.user_ids()
    finally:
        await store.close()

    said = await tripcheck(restored, "db", "reapply-erasures", str(erasures))
    assert "1 erasure(s) read; erased 1 user(s) again, from 1 decision(s)" in said
    said = await tripcheck(restored, "db", "reapply-erasures", str(erasures))
    assert "erased 0 user(s) again" in said
    store = await SQLiteStorage.open(restored)
    try:
        users = await store.decision_log.user_ids()
        assert erased not in users and set(decided_before) - {erased} <= users
        assert [e.mark for e in await store.decision_log.erasures()] == [
            erasure_mark(ERASURE_KEY, erased)
        ]
    finally:
        await store.close()


async def test_an_erasure_line_from_the_log_or_the_erase_command_is_enough(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    store = await SQLiteStorage.open(db)
    await store.close()
    async with serving(db) as url:
        writers = Writers(url)
        async with httpx.AsyncClient() as client:
            await writers.check(client, "anna")
            await writers.check(client, "bo")
    backup = tmp_path / "backup.db"
    await tripcheck(db, "db", "backup", str(backup))
    said = await tripcheck(db, "decisions", "erase", "--user", "anna")
    line = said.splitlines()[-1]
    assert json.loads(line)["erasure"] == erasure_mark(ERASURE_KEY, "anna")
    # What the server's JSON log would hold, among other lines, and the erase command's line.
    audit = json.dumps({"message": "erase", "actor": "cli", "decisions": 1, **json.loads(line)})
    listed = tmp_path / "from-the-log.jsonl"
    listed.write_text(json.dumps({"message": "turn"}) + "\n" + audit + "\n", encoding="utf-8")
    said = await tripcheck(backup, "db", "reapply-erasures", str(listed))
    assert "erased 1 user(s) again, from 1 decision(s)" in said
    store = await SQLiteStorage.open(backup)
    try:
        assert await store.decision_log.user_ids() == {"bo"}
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("line", "problem"),
    [("not a mark", "line 2: not an erasure mark"), ('{"erasure": "abc"}', "line 2: the erasure")],
)
async def test_a_bad_erasure_list_changes_nothing(tmp_path: Path, line: str, problem: str) -> None:
    db = tmp_path / "t.db"
    listed = tmp_path / "list.jsonl"
    listed.write_text(f"{erasure_mark(ERASURE_KEY, 'x')}\n{line}\n", encoding="utf-8")
    done = subprocess.run(
        [TRIPCHECK, "db", "reapply-erasures", str(listed)],
        env=env(db, TRIPCHECK_ERASURE_KEY=ERASURE_KEY),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and f"{listed}: {problem}" in done.stderr
    store = await SQLiteStorage.open(db)
    try:
        assert await store.decision_log.erasures() == []
    finally:
        await store.close()


async def test_without_an_erasure_key_the_erasure_is_done_and_the_operator_warned(
    tmp_path: Path,
) -> None:
    db = tmp_path / "t.db"
    done = subprocess.run(
        [TRIPCHECK, "decisions", "erase", "--user", "anna"],
        env=env(db, TRIPCHECK_ERASURE_KEY=""),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and "TRIPCHECK_ERASURE_KEY is not set" in done.stderr
    refused = subprocess.run(
        [TRIPCHECK, "db", "reapply-erasures", str(tmp_path / "none.jsonl")],
        env=env(db, TRIPCHECK_ERASURE_KEY=""),
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1 and "TRIPCHECK_ERASURE_KEY" in refused.stderr
