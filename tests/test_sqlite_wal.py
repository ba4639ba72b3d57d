"""SQLite's write-ahead log under steady turns: checkpointed off the turn path, and started
from its beginning again while turns go on, so it does not grow with every turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.messages import ConversationKey
from bot.state import ConversationState
from storage.sqlite.store import CHECKPOINT_EVERY, WAL_RESTART_FRAMES, SQLiteStorage

TURNS = 40 * CHECKPOINT_EVERY


def wal_generation(wal: Path) -> bytes:
    """The WAL header's checkpoint sequence number and salts: new each time SQLite starts
    the log from its beginning again."""
    with wal.open("rb") as file:
        return file.read(24)[12:24]


async def test_the_wal_starts_afresh_under_turns_that_never_pause(tmp_path: Path) -> None:
    db = tmp_path / "steady.db"
    storage = await SQLiteStorage.open(db)
    keys = [ConversationKey("rest", f"u{n}", f"u{n}") for n in range(50)]
    generations: set[bytes] = set()
    largest = 0
    try:
        for n in range(TURNS):
            key = keys[n % len(keys)]
            async with storage.turn(key) as tx:
                state = await tx.load() or ConversationState(lang="sv")
                state.note(float(n), "title", "x" * 500)  # a state of a few kB, as mid-check
                del state.transcript[:-5]
                await tx.save(state)
            # The other thread's checkpoint runs while the turns go on, as under load.
            await asyncio.sleep(0)
            wal = tmp_path / "steady.db-wal"
            generations.add(wal_generation(wal))
            largest = max(largest, wal.stat().st_size)
    finally:
        await storage.close()
    print(f"{TURNS} turns: {len(generations)} WAL generations, at most {largest / 2**20:.1f} MiB")
    # Never started afresh, the log would hold every turn's pages: some 80 MB here.
    assert len(generations) >= 3
    assert largest < 1.5 * WAL_RESTART_FRAMES * 4096
