"""The decision log's full-text index, written in batches off the turn path (migration 010).

Decisions get ids in the order they are recorded and are never deleted, so the index is
"every decision up to `search_indexed.up_to`": the store adds the rest in one statement every
few hundred turns, beside its WAL checkpoint, and before any search reads the index.
"""

from __future__ import annotations

import sqlite3

INDEXED_COLUMNS = "title, department, partner, destination, answers"


def unindexed(conn: sqlite3.Connection) -> bool:
    """Whether decisions were recorded since the index was last brought up to date."""
    up_to, newest = conn.execute(
        "SELECT up_to, (SELECT max(id) FROM decisions) FROM search_indexed"
    ).fetchone()
    return newest is not None and newest > up_to


def index_unindexed(conn: sqlite3.Connection) -> int:
    """Adds the decisions not yet in the index (inside the caller's write transaction, so no
    other process adds them too); how many."""
    up_to, newest = conn.execute(
        "SELECT up_to, (SELECT max(id) FROM decisions) FROM search_indexed"
    ).fetchone()
    if newest is None or newest <= up_to:
        return 0
    added = conn.execute(
        f"INSERT INTO decisions_fts (rowid, {INDEXED_COLUMNS})"
        f" SELECT id, {INDEXED_COLUMNS} FROM decisions WHERE id > ? AND id <= ?",
        [up_to, newest],
    ).rowcount
    conn.execute("UPDATE search_indexed SET up_to = ?", [newest])
    return added
