"""SQLite storage through sqlite-utils: WAL mode, migrations, one writer thread."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from bot.messages import ConversationKey
from bot.sqlite_log import SQLiteDecisionLog
from bot.state import ConversationState
from bot.storage import DecisionRecord, StorageError, StoredDecision

T = TypeVar("T")
JSON_COLUMNS = ("advisories", "reasons", "guidelines", "answers", "transcript", "co2")
CO2_COLUMNS: dict[str, type] = {
    "co2_distance_km": float,
    "co2_planned_mode": str,
    "co2_planned_kg": float,
    "co2_lowest_mode": str,
    "co2_lowest_kg": float,
    "co2_avoided_kg": float,
}


def _migration_1(db: sqlite_utils.Database) -> None:
    db.table("conversations").create(
        {"channel": str, "chat": str, "user_id": str, "state": str, "updated_at": float},
        pk=("channel", "chat", "user_id"),
    )
    db.table("profiles").create(
        {"channel": str, "user_id": str, "last_department": str, "updated_at": float},
        pk=("channel", "user_id"),
    )
    db.table("decisions").create(
        {
            "id": int,
            "created_at": float,
            "channel": str,
            "chat": str,
            "user_id": str,
            "role": str,
            "lang": str,
            "kind": str,
            "title": str,
            "department": str,
            "partner": str,
            "partner_id": str,
            "destination": str,
            "outcome": str,
            "focus_area": str,
            "advisories": str,
            "reasons": str,
            "guidelines": str,
            "answers": str,
            "rules_version": str,
            "transcript": str,
            "co2": str,
        },
        pk="id",
        not_null={"created_at", "channel", "user_id", "outcome", "focus_area", "rules_version"},
    )
    db.table("decisions").create_index(["created_at"])
    db.table("decisions").create_index(["channel", "user_id", "created_at"])


def _migration_2(db: sqlite_utils.Database) -> None:
    """Climate figures as columns, so admins can total the CO2e that digital meetings avoided."""
    decisions = db.table("decisions")
    for column, kind in CO2_COLUMNS.items():
        decisions.add_column(column, kind)
    for row_id, co2 in db.execute("SELECT id, co2 FROM decisions WHERE co2 IS NOT NULL").fetchall():
        values = _co2_columns(json.loads(co2))
        assignments = ", ".join(f"{column} = ?" for column in values)
        db.execute(f"UPDATE decisions SET {assignments} WHERE id = ?", [*values.values(), row_id])


def _migration_3(db: sqlite_utils.Database) -> None:
    """Platform deliveries already handled, so a retried webhook changes nothing."""
    db.table("deliveries").create(
        {"source": str, "delivery_id": str, "received_at": float}, pk=("source", "delivery_id")
    )
    db.table("deliveries").create_index(["received_at"])


def _migration_4(db: sqlite_utils.Database) -> None:
    """Admin review: full-text search, reviews, web admin accounts, an audit trail, purging."""
    db.execute(
        "CREATE VIRTUAL TABLE decisions_fts USING fts5("
        "title, department, partner, destination, answers,"
        " tokenize = 'unicode61 remove_diacritics 2')"
    )
    fts_row = "new.id, new.title, new.department, new.partner, new.destination, new.answers"
    db.execute(
        "CREATE TRIGGER decisions_fts_insert AFTER INSERT ON decisions BEGIN"
        " INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)"
        f" VALUES ({fts_row}); END"
    )
    db.execute(
        "CREATE TRIGGER decisions_fts_update AFTER UPDATE ON decisions BEGIN"
        " DELETE FROM decisions_fts WHERE rowid = old.id;"
        " INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)"
        f" VALUES ({fts_row}); END"
    )
    db.execute(
        "CREATE TRIGGER decisions_fts_delete AFTER DELETE ON decisions BEGIN"
        " DELETE FROM decisions_fts WHERE rowid = old.id; END"
    )
    db.execute(
        "INSERT INTO decisions_fts (rowid, title, department, partner, destination, answers)"
        " SELECT id, title, department, partner, destination, answers FROM decisions"
    )
    db.table("decisions").add_column("purged_at", float)
    db.table("decisions").create_index(["outcome", "created_at"])
    db.table("reviews").create(
        {
            "id": int,
            "decision_id": int,
            "reviewer": str,
            "verdict": str,
            "comment": str,
            "created_at": float,
        },
        pk="id",
        foreign_keys=[("decision_id", "decisions", "id")],
        not_null={"decision_id", "reviewer", "verdict", "created_at"},
    )
    db.table("reviews").create_index(["decision_id"])
    db.table("admins").create(
        {"username": str, "password_hash": str, "created_at": float}, pk="username"
    )
    db.table("audit").create(
        {"id": int, "at": float, "actor": str, "action": str, "details": str}, pk="id"
    )


# Each migration runs once, in order, inside the transaction that bumps the schema version.
MIGRATIONS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
)
# Platforms retry for minutes, not days: older delivery ids are forgotten.
DELIVERY_MEMORY_SECONDS = 7 * 86400
SCHEMA_VERSION = len(MIGRATIONS)


class SQLiteStorage:
    """The default Storage. Every call runs on one worker thread, so the event loop never
    blocks on a busy database and SQLite sees a single connection."""

    def __init__(self, db: sqlite_utils.Database, executor: ThreadPoolExecutor, name: str) -> None:
        self._db = db
        self._executor = executor
        self._name = name

    @classmethod
    async def open(cls, path: str | Path, *, busy_timeout_ms: int = 2000) -> SQLiteStorage:
        """Opens (creating if needed) and migrates the database; StorageError if unusable."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tripcheck-sqlite")
        name = str(path)

        def connect() -> sqlite_utils.Database:
            if name != ":memory:":
                Path(name).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
                db = sqlite_utils.Database(conn)
                _migrate(db)
                if name != ":memory:":
                    db.enable_wal()
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                conn.close()
                raise
            return db

        try:
            db = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except sqlite3.Error as error:
            executor.shutdown(wait=False)
            raise StorageError(_explain(name, error)) from error
        except OSError as error:
            executor.shutdown(wait=False)
            raise StorageError(f"Cannot open the database {name}: {error}") from error
        return cls(db, executor, name)

    async def _run(self, work: Callable[[], T]) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        except sqlite3.Error as error:
            raise StorageError(_explain(self._name, error)) from error
        except RuntimeError as error:  # the executor was shut down: storage is closed
            raise StorageError(f"The database {self._name} is closed.") from error

    async def load_conversation(self, key: ConversationKey) -> ConversationState | None:
        def work() -> str | None:
            row = self._db.execute(
                "SELECT state FROM conversations WHERE channel = ? AND chat = ? AND user_id = ?",
                [key.channel, key.chat, key.user],
            ).fetchone()
            return None if row is None else str(row[0])

        text = await self._run(work)
        return None if text is None else ConversationState.model_validate_json(text)

    async def save_conversation(self, key: ConversationKey, state: ConversationState) -> None:
        payload = state.model_dump_json()

        def work() -> None:
            _upsert_conversation(self._db, key, payload, state.updated_at)

        await self._run(work)

    async def record_decision(
        self, key: ConversationKey, record: DecisionRecord, state: ConversationState
    ) -> int:
        row = _to_row(record)
        payload = state.model_dump_json()

        def work() -> int:
            conn = self._db.conn
            # One transaction: a kill at any moment leaves no decision or a whole one.
            conn.execute("BEGIN IMMEDIATE")
            try:
                columns = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                cursor = conn.execute(
                    f"INSERT INTO decisions ({columns}) VALUES ({marks})", list(row.values())
                )
                _upsert_conversation(self._db, key, payload, state.updated_at)
                conn.execute(
                    "INSERT INTO profiles (channel, user_id, last_department, updated_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (channel, user_id) DO UPDATE SET"
                    " last_department = excluded.last_department,"
                    " updated_at = excluded.updated_at",
                    [key.channel, key.user, record.department, record.created_at],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return int(cursor.lastrowid or 0)

        return await self._run(work)

    async def last_department(self, key: ConversationKey) -> str | None:
        def work() -> str | None:
            row = self._db.execute(
                "SELECT last_department FROM profiles WHERE channel = ? AND user_id = ?",
                [key.channel, key.user],
            ).fetchone()
            return None if row is None else row[0]

        return await self._run(work)

    async def last_decision(self, key: ConversationKey) -> StoredDecision | None:
        return await self._one(
            "SELECT * FROM decisions WHERE channel = ? AND user_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            [key.channel, key.user],
        )

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        return await self._one("SELECT * FROM decisions WHERE id = ?", [decision_id])

    async def recent_decisions(
        self, channel: str, user_id: str, limit: int = 10
    ) -> list[StoredDecision]:
        return await self._many(
            "SELECT * FROM decisions WHERE channel = ? AND user_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?",
            [channel, user_id, limit],
        )

    async def claim_delivery(self, source: str, delivery_id: str, now: float) -> bool:
        def work() -> bool:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO deliveries (source, delivery_id, received_at)"
                " VALUES (?, ?, ?)",
                [source, delivery_id, now],
            )
            claimed = cursor.rowcount == 1
            if claimed and cursor.lastrowid and cursor.lastrowid % 1000 == 0:
                self._db.execute(
                    "DELETE FROM deliveries WHERE received_at < ?",
                    [now - DELIVERY_MEMORY_SECONDS],
                )
            return claimed

        return await self._run(work)

    async def _one(self, sql: str, params: list[Any]) -> StoredDecision | None:
        found = await self._many(sql, params)
        return found[0] if found else None

    async def _many(self, sql: str, params: list[Any]) -> list[StoredDecision]:
        def work() -> list[dict[str, Any]]:
            cursor = self._db.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return [_from_row(row) for row in await self._run(work)]

    @property
    def decision_log(self) -> SQLiteDecisionLog:
        """The admin side of the same database."""
        return SQLiteDecisionLog(self._db, self._run, _from_row)

    async def ping(self) -> None:
        def work() -> None:
            if self._name == ":memory:":
                self._db.execute("SELECT version FROM schema_version").fetchone()
                return
            # A fresh read-only connection reads the file itself, not this connection's page
            # cache, so a damaged, replaced or vanished file is noticed.
            probe = sqlite3.connect(f"{Path(self._name).resolve().as_uri()}?mode=ro", uri=True)
            try:
                probe.execute("SELECT version FROM schema_version").fetchone()
            finally:
                probe.close()

        await self._run(work)

    async def close(self) -> None:
        await self._run(self._db.conn.close)
        self._executor.shutdown(wait=True)


def _migrate(db: sqlite_utils.Database) -> None:
    conn = db.conn
    # BEGIN IMMEDIATE takes the write lock at once: a read-only or locked file fails here, at
    # start, with nothing written.
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not db.table("schema_version").exists():
            db.table("schema_version").create({"version": int})
            db.table("schema_version").insert({"version": 0})
        current = int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {current} is newer than this Tripcheck knows ({SCHEMA_VERSION})"
            )
        for number in range(current, SCHEMA_VERSION):
            MIGRATIONS[number](db)
        conn.execute("UPDATE schema_version SET version = ?", [SCHEMA_VERSION])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _upsert_conversation(
    db: sqlite_utils.Database, key: ConversationKey, payload: str, updated_at: float
) -> None:
    db.execute(
        "INSERT INTO conversations (channel, chat, user_id, state, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat, user_id) DO UPDATE SET"
        " state = excluded.state, updated_at = excluded.updated_at",
        [key.channel, key.chat, key.user, payload, updated_at],
    )


def _co2_columns(co2: dict[str, Any] | None) -> dict[str, Any]:
    co2 = co2 or {}
    return {
        "co2_distance_km": co2.get("distance_km"),
        "co2_planned_mode": co2.get("planned_mode"),
        "co2_planned_kg": co2.get("planned_kg"),
        "co2_lowest_mode": co2.get("lowest_reasonable_mode"),
        "co2_lowest_kg": co2.get("lowest_reasonable_kg"),
        "co2_avoided_kg": co2.get("avoided_kg"),
    }


def _to_row(record: DecisionRecord) -> dict[str, Any]:
    row = record.model_dump()
    row.update(_co2_columns(record.co2))
    for column in JSON_COLUMNS:
        row[column] = None if row[column] is None else json.dumps(row[column], ensure_ascii=False)
    return row


def _from_row(row: dict[str, Any]) -> StoredDecision:
    for column in JSON_COLUMNS:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return StoredDecision.model_validate(row)


def _explain(name: str, error: sqlite3.Error) -> str:
    message = str(error)
    if "not a database" in message or "malformed" in message:
        return f"The database {name} is corrupt or not a SQLite file; it was left untouched."
    if "readonly" in message or "read-only" in message:
        return f"The database {name} is read-only; Tripcheck needs to write to it."
    if "locked" in message or "busy" in message:
        return f"The database {name} is locked by another program; try again when it is free."
    if "unable to open" in message:
        return f"Cannot open the database {name}: check that its folder exists and is writable."
    return f"The database {name} cannot be used: {message}"
