"""A turn begins its transaction on the event loop when no other connection is writing, and
on the turn thread, waiting its turn, when one is: the loop is never blocked by the wait."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.state import ConversationState
from storage.sqlite.store import SQLiteStorage
from tests.test_storage import KEY


async def save_state(store: SQLiteStorage, updated_at: float) -> None:
    async with store.turn(KEY) as turn:
        await turn.load()
        await turn.save(ConversationState(lang="sv", updated_at=updated_at))


async def test_a_turn_waits_off_the_loop_for_another_writer_then_saves(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    try:
        await save_state(store, 1.0)  # begun at once: nobody else writes
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(save_state(store, 2.0))
        # The loop runs on while the turn waits for the lock on its thread.
        await asyncio.sleep(0.3)
        assert not waiting.done()
        holder.execute("COMMIT")
        holder.close()
        await waiting
        loaded = await store.load_conversation(KEY)
        assert loaded is not None and loaded.updated_at == 2.0
    finally:
        await store.close()
