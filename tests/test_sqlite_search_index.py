"""SQLite's full-text index of the decision log, written off the turn path (migration 010):
a save turn leaves it, a batch beside the WAL checkpoint or the next search brings it up to
date, and every decision is found once, whatever happened to it before it was indexed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import storage.sqlite.store as sqlite_store
from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from bot.state import ConversationState
from storage.rows import to_row
from storage.sqlite.store import SQLiteStorage, migrate
from tests.test_storage import record


def indexed(db: Path) -> tuple[int, list[int]]:
    """`up_to` and the decision ids in the full-text index, read straight from the file."""
    with sqlite3.connect(db) as conn:
        (up_to,) = conn.execute("SELECT up_to FROM search_indexed").fetchone()
        rows = conn.execute("SELECT rowid FROM decisions_fts ORDER BY rowid").fetchall()
    return up_to, [rowid for (rowid,) in rows]


async def save(store: SQLiteStorage, n: int, title: str = "Möte i Kemi") -> int:
    decision = record(float(1000 + n)).model_copy(
        update={"title": title, "answers": {"title": {"raw": title.lower(), "value": title}}}
    )
    key = ConversationKey("rest", f"c{n}", f"u{n}")
    async with store.turn(key) as tx:
        return await tx.record_decision(decision, ConversationState(lang="sv"))


def searched(words: str) -> DecisionFilter:
    return DecisionFilter(search=words)


async def test_a_save_turn_leaves_the_index_and_a_search_finds_the_decision(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    try:
        decision_id = await save(store, 1)
        assert indexed(db) == (0, [])
        log = store.decision_log
        assert await log.count_decisions(searched("kemi")) == 1
        assert indexed(db) == (decision_id, [decision_id])
        (found,) = await log.query_decisions(searched("möte"), limit=5)
        assert found.id == decision_id
    finally:
        await store.close()


@pytest.mark.parametrize(
    "read",
    ["query", "count", "stream", "export", "stats"],
)
async def test_every_search_of_the_log_first_indexes_what_is_new(tmp_path: Path, read: str) -> None:
    store = await SQLiteStorage.open(tmp_path / "log.db")
    log = store.decision_log
    try:
        await save(store, 1, "Konferens i Bryssel")
        await save(store, 2, "Möte i Kemi")
        where = searched("bryssel")
        if read == "query":
            found = len(await log.query_decisions(where, limit=5))
        elif read == "count":
            found = await log.count_decisions(where)
        elif read == "stream":
            found = len([d async for d in log.stream_decisions(where)])
        elif read == "export":
            found = sum([len(rows) async for rows in log.stream_export_rows(where)])
        else:
            found = sum(month.total for month in await log.stats(where))
        assert found == 1
    finally:
        await store.close()


async def test_the_turns_decisions_are_indexed_in_a_batch_beside_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 3)
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    try:
        ids = [await save(store, n) for n in range(3)]
        checkpoint = store._checkpointing
        assert checkpoint is not None
        await checkpoint
        assert indexed(db) == (ids[-1], ids)
    finally:
        await store.close()


async def test_what_a_stopped_process_left_unindexed_is_indexed_when_the_file_opens(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    ids = [await save(store, n) for n in range(2)]
    await store.close()
    assert indexed(db) == (0, [])
    store = await SQLiteStorage.open(db)
    await store.close()
    assert indexed(db) == (ids[-1], ids)


@pytest.mark.parametrize("erase", ["purge", "erasure"])
async def test_a_decision_cleared_before_it_was_indexed_is_indexed_without_the_typed_text(
    tmp_path: Path, erase: str
) -> None:
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    log = store.decision_log
    try:
        await save(store, 1, "Besök hos Svensson")
        kept = await save(store, 2, "Möte i Kemi")
        # An indexed decision, cleared after it: its entry is replaced as before.
        assert await log.count_decisions(searched("möte")) == 1
        cleared = await save(store, 3, "Ulla Andersson på besök")
        if erase == "purge":
            assert await log.purge_before(1004.0, 5000.0) == 3
        else:
            assert await log.erase_user(record(0).user_id, 5000.0, actor="dpo") == 3
        # The typed text ("ulla andersson på besök") is what identified the person.
        assert indexed(db)[1] == [kept - 1, kept]
        assert await log.count_decisions(searched("andersson")) == 1  # the title, kept
        with sqlite3.connect(db) as conn:
            (answers,) = conn.execute(
                "SELECT answers FROM decisions_fts WHERE rowid = ?", [cleared]
            ).fetchone()
        assert "ulla" not in answers
    finally:
        await store.close()


async def test_a_database_indexed_by_the_old_trigger_keeps_its_index(tmp_path: Path) -> None:
    """Schema 9 indexed each decision as it was recorded: none is indexed twice."""
    db = tmp_path / "log.db"
    row = to_row(record(1000.0))
    with sqlite3.connect(db) as conn:
        migrate(conn, upto=9)
        marks = ", ".join("?" for _ in row)
        conn.execute(
            f"INSERT INTO decisions ({', '.join(row)}) VALUES ({marks})", list(row.values())
        )
    store = await SQLiteStorage.open(db)
    try:
        assert indexed(db) == (1, [1])
        newer = await save(store, 1)
        assert await store.decision_log.count_decisions(searched("möte")) == 2
        assert indexed(db) == (newer, [1, newer])
    finally:
        await store.close()


async def test_the_newest_decision_deleted_by_hand_leaves_its_id_indexable(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    log = store.decision_log
    try:
        await save(store, 1, "Möte i Kemi")
        newest = await save(store, 2, "Möte i Kemi")
        assert await log.count_decisions(searched("möte")) == 2
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM decisions WHERE id = ?", [newest])
        # SQLite gives the next decision the id the deleted one had.
        assert await save(store, 3, "Konferens i Bryssel") == newest
        assert await log.count_decisions(searched("bryssel")) == 1
        assert await log.count_decisions(searched("möte")) == 1
    finally:
        await store.close()
