"""SQLite storage: schema and migrations, WAL, and decisions that are whole or absent."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.messages import ConversationKey
from bot.state import ConversationState
from bot.storage import DecisionRecord, StorageError
from storage.sqlite.store import SCHEMA_VERSION, SQLiteStorage

KEY = ConversationKey("terminal", "anna", "anna")


def record(at: float, department: str = "Kommunstaben") -> DecisionRecord:
    return DecisionRecord(
        channel=KEY.channel,
        chat=KEY.chat,
        user_id=KEY.user,
        role="employee",
        created_at=at,
        lang="sv",
        kind="trip",
        title="Möte",
        department=department,
        partner="Kemi",
        partner_id="kemi",
        destination="Kemi",
        outcome="travel",
        focus_area="twin_city",
        advisories=[],
        reasons=[{"code": "adds_value"}],
        guidelines=[],
        answers={"title": {"raw": "Möte"}},
        rules_version="2024.1+abc",
        transcript=[{"in": "hej"}],
    )


async def test_a_new_database_gets_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    await store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"conversations", "decisions", "profiles", "schema_version"} <= tables


async def test_opening_again_keeps_the_data(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    state = ConversationState(lang="en", phase="asking", step="title")
    await store.save_conversation(KEY, state)
    decision_id = await store.record_decision(KEY, record(1.0), state)
    await store.close()
    again = await SQLiteStorage.open(db)
    loaded = await again.load_conversation(KEY)
    assert loaded is not None and loaded.step == "title" and loaded.lang == "en"
    stored = await again.get_decision(decision_id)
    assert stored is not None and stored.reasons == [{"code": "adds_value"}]
    assert await again.last_department(KEY) == "Kommunstaben"
    await again.close()


async def test_a_database_from_a_newer_tripcheck_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    await (await SQLiteStorage.open(db)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StorageError, match="newer"):
        await SQLiteStorage.open(db)


async def test_a_failed_record_leaves_nothing_behind(storage: SQLiteStorage) -> None:
    # The state is saved in the same transaction as the decision; a row that cannot be
    # written (a NOT NULL column left empty) must undo the decision too.
    bad = record(2.0).model_copy(update={"outcome": None})
    with pytest.raises(StorageError):
        await storage.record_decision(KEY, bad, ConversationState(lang="sv"))
    assert await storage.last_decision(KEY) is None
    assert await storage.load_conversation(KEY) is None
    assert await storage.last_department(KEY) is None


WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    sys.path.insert(0, {root!r})
    from tests.test_storage import KEY, record
    from storage.sqlite.store import SQLiteStorage
    from bot.state import ConversationState

    async def main():
        store = await SQLiteStorage.open({db!r})
        print("ready", flush=True)
        while True:
            now = time.time()
            state = ConversationState(lang="sv", updated_at=now)
            await store.record_decision(KEY, record(now, department=f"dept {{now!r}}"), state)

    asyncio.run(main())
    """
)


def test_a_kill_at_any_moment_leaves_whole_decisions_only(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    root = str(Path(__file__).resolve().parents[1])
    for attempt in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER.format(root=root, db=str(db))],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.04 * attempt)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        conn = sqlite3.connect(db)
        last = conn.execute("SELECT max(created_at) FROM decisions").fetchone()[0]
        assert last is not None, "the writer recorded nothing before it was killed"
        # Decision, conversation and profile were written together, so they agree.
        state_at = conn.execute("SELECT updated_at FROM conversations").fetchone()[0]
        department = conn.execute("SELECT last_department FROM profiles").fetchone()[0]
        assert state_at == last and department == f"dept {last!r}"
        incomplete = conn.execute(
            "SELECT count(*) FROM decisions"
            " WHERE reasons IS NULL OR answers IS NULL OR rules_version IS NULL"
        ).fetchone()[0]
        assert incomplete == 0
        conn.close()
