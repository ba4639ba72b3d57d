"""PostgreSQL storage through psycopg 3's async connection pool.

A turn holds a transaction-scoped advisory lock on its conversation, so turns of one
conversation run one at a time across every instance; migrations run under a session lock,
so instances that start together migrate one after the other."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.decision_log import (
    STATS_TIME_ZONE,
    DecisionFilter,
    Erasure,
    MonthStats,
    Review,
    Verdict,
)
from bot.messages import ConversationKey
from bot.state import ConversationState
from bot.storage import DecisionRecord, FollowUp, StorageError, StoredDecision
from storage.export_stream import EXPORT_SELECT, keyset_batches
from storage.filters import common_clauses, like_pattern
from storage.followup_rows import followup_of, reference_json
from storage.migrations import migrations_of
from storage.postgres.search_terms import count_search
from storage.rows import from_row, to_row, without_raw_text

T = TypeVar("T")
Connection = psycopg.AsyncConnection[dict[str, Any]]
MIGRATIONS = migrations_of("storage.postgres")
SCHEMA_VERSION = len(MIGRATIONS)
# Keys of the advisory locks this application takes outside conversations.
MIGRATION_LOCK = 0x7472_6970_0001
DELIVERY_MEMORY_SECONDS = 7 * 86400
audit_log = logging.getLogger("tripcheck.audit")

# What each SQLSTATE class means to someone running Tripcheck.
SQLSTATE_CLASSES = {
    "08": "the connection to the database failed",
    "28": "the database refused the user name or password",
    "3D": "the database does not exist",
    "42": "a statement was refused (missing privileges or an old schema)",
    "53": "the database server is out of resources",
    "57": "the database server is shutting down or was restarted",
    "58": "the database server had a system error",
    "40": "a transaction was rolled back (a conflict); try again",
    "25": "the database is read-only",
    "23": "a value broke a constraint",
}


def explain(where: str, error: Exception) -> str:
    """A clear message for a database error, by its SQLSTATE class; never the password."""
    state = getattr(error, "sqlstate", None) or ""
    unreachable = not state and isinstance(error, psycopg.OperationalError)
    if isinstance(error, PoolTimeout) or unreachable:
        return f"The database {where} cannot be reached: {str(error).splitlines()[0]}"
    meaning = SQLSTATE_CLASSES.get(state[:2], "the database reported an error")
    return f"The database {where}: {meaning} (SQLSTATE {state or 'none'})."


def describe(url: str) -> str:
    """host/dbname of a URL, for messages (no user or password)."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unreadable TRIPCHECK_DATABASE_URL)"
    return f"{parts.get('host', 'localhost')}/{parts.get('dbname', '')}"


def conversation_lock(key: ConversationKey) -> str:
    """The text whose hash names a conversation's advisory lock."""
    return "\x1f".join(("conversation", key.channel, key.chat, key.user))


class PostgresStorage:
    """Storage and DecisionLog on PostgreSQL."""

    def __init__(self, pool: AsyncConnectionPool[Connection], where: str) -> None:
        self._pool = pool
        self._where = where
        self.decision_log = PostgresDecisionLog(self)

    @classmethod
    async def open(
        cls, url: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 10.0
    ) -> PostgresStorage:
        """Connects, then migrates under a lock; StorageError if the database is unusable."""
        where = describe(url)
        pool: AsyncConnectionPool[Connection] = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={"autocommit": True, "row_factory": dict_row},
            connection_class=psycopg.AsyncConnection[dict[str, Any]],
        )
        try:
            # One direct connection first: a wrong URL fails at once with the server's reason,
            # where the pool would retry quietly until its timeout.
            conn = await psycopg.AsyncConnection.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=int(timeout)
            )
            async with conn:
                await migrate(conn)
            await pool.open(wait=True, timeout=timeout)
        except (psycopg.Error, PoolTimeout) as error:
            await pool.close()
            raise StorageError(explain(where, error)) from error
        except BaseException:
            await pool.close()
            raise
        return cls(pool, where)

    async def run(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Runs `work` on a pooled connection (autocommit unless it opens a transaction)."""
        try:
            async with self._pool.connection() as conn:
                return await work(conn)
        except (psycopg.Error, PoolTimeout) as error:
            raise StorageError(explain(self._where, error)) from error

    async def transaction(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Runs `work` in one transaction."""

        async def atomic(conn: Connection) -> T:
            async with conn.transaction():
                return await work(conn)

        return await self.run(atomic)

    @asynccontextmanager
    async def turn(self, key: ConversationKey) -> AsyncIterator[PostgresTurn]:
        try:
            async with self._pool.connection() as conn, conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [conversation_lock(key)],
                )
                yield PostgresTurn(conn, key)
        except (psycopg.Error, PoolTimeout) as error:
            raise StorageError(explain(self._where, error)) from error

    async def load_conversation(self, key: ConversationKey) -> ConversationState | None:
        return await self.run(lambda conn: _load(conn, key))

    async def save_conversation(self, key: ConversationKey, state: ConversationState) -> None:
        async with self.turn(key) as tx:
            await tx.save(state)

    async def record_decision(
        self, key: ConversationKey, record: DecisionRecord, state: ConversationState
    ) -> int:
        async with self.turn(key) as tx:
            return await tx.record_decision(record, state)

    async def last_department(self, key: ConversationKey) -> str | None:
        return await self.run(lambda conn: _last_department(conn, key))

    async def last_decision(self, key: ConversationKey) -> StoredDecision | None:
        return await self.run(lambda conn: _last_decision(conn, key))

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        return await self.decision_log.get_decision(decision_id)

    async def recent_decisions(
        self, channel: str, user_id: str, limit: int = 10
    ) -> list[StoredDecision]:
        async def work(conn: Connection) -> list[StoredDecision]:
            cursor = await conn.execute(
                "SELECT * FROM decisions WHERE channel = %s AND user_id = %s"
                " ORDER BY created_at DESC, id DESC LIMIT %s",
                [channel, user_id, limit],
            )
            return [from_row(row) for row in await cursor.fetchall()]

        return await self.run(work)

    async def claim_delivery(self, source: str, delivery_id: str, now: float) -> bool:
        async def work(conn: Connection) -> bool:
            cursor = await conn.execute(
                "INSERT INTO deliveries (source, delivery_id, received_at) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING received_at",
                [source, delivery_id, now],
            )
            claimed = await cursor.fetchone() is not None
            if claimed and hash(delivery_id) % 1000 == 0:
                await conn.execute(
                    "DELETE FROM deliveries WHERE received_at < %s",
                    [now - DELIVERY_MEMORY_SECONDS],
                )
            return claimed

        return await self.run(work)

    async def set_followup_reference(
        self, key: ConversationKey, decision_id: int, reference: dict[str, str]
    ) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(
                "UPDATE followups SET reference = %s WHERE decision_id = %s AND channel = %s"
                " AND chat = %s AND user_id = %s",
                [reference_json(reference), decision_id, key.channel, key.chat, key.user],
            )

        await self.run(work)

    async def claim_followups(
        self, holder: str, now: float, *, channels: tuple[str, ...], lease: float, limit: int
    ) -> list[FollowUp]:
        if not channels:
            return []

        async def work(conn: Connection) -> list[FollowUp]:
            # SKIP LOCKED: an instance claiming at the same moment takes other rows, or none.
            cursor = await conn.execute(
                "UPDATE followups SET claimed_by = %s, claimed_until = %s WHERE decision_id IN"
                " (SELECT decision_id FROM followups WHERE due_at IS NOT NULL AND due_at <= %s"
                " AND answered_at IS NULL AND (claimed_until IS NULL OR claimed_until < %s)"
                " AND channel = ANY(%s) ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING *",
                [holder, now + lease, now, now, list(channels), limit],
            )
            rows = await cursor.fetchall()
            return sorted((followup_of(row) for row in rows), key=lambda f: f.due_at or 0.0)

        return await self.run(work)

    async def followup_sent(
        self, decision_id: int, holder: str, now: float, next_due: float | None
    ) -> None:
        async def work(conn: Connection) -> None:
            cursor = await conn.execute(
                "UPDATE followups SET attempts = attempts + 1, sent_at = %s, due_at = %s,"
                " claimed_by = NULL, claimed_until = NULL"
                " WHERE decision_id = %s AND claimed_by = %s",
                [now, next_due, decision_id, holder],
            )
            if cursor.rowcount:
                await conn.execute(
                    "UPDATE decisions SET followed_up_at = %s"
                    " WHERE id = %s AND followed_up_at IS NULL",
                    [now, decision_id],
                )

        await self.transaction(work)

    async def followup_failed(self, decision_id: int, holder: str, retry_at: float | None) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(
                "UPDATE followups SET failures = failures + 1, due_at = %s, claimed_by = NULL,"
                " claimed_until = NULL WHERE decision_id = %s AND claimed_by = %s",
                [retry_at, decision_id, holder],
            )

        await self.run(work)

    async def ping(self) -> None:
        async def work(conn: Connection) -> None:
            cursor = await conn.execute("SELECT current_setting('transaction_read_only') AS ro")
            row = await cursor.fetchone()
            if row is None or row["ro"] == "on":
                raise StorageError(f"The database {self._where} is read-only.")
            await conn.execute("SELECT version FROM schema_version")

        await self.run(work)

    async def close(self) -> None:
        await self._pool.close()


async def migrate(conn: Connection) -> int:
    """Brings the schema up to date; returns the version it had. The session-level advisory
    lock makes a second instance wait until the first has finished."""
    await conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK])
    try:
        async with conn.transaction():
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer)")
            cursor = await conn.execute("SELECT version FROM schema_version")
            row = await cursor.fetchone()
            if row is None:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            current = 0 if row is None else int(row["version"])
            if current > SCHEMA_VERSION:
                raise StorageError(
                    f"schema version {current} is newer than this Tripcheck knows"
                    f" ({SCHEMA_VERSION})"
                )
            for migration in MIGRATIONS[current:]:
                # No parameters: psycopg sends the file as one multi-statement query.
                await conn.execute(migration.sql.encode())
            await conn.execute("UPDATE schema_version SET version = %s", [SCHEMA_VERSION])
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK])
    return current


class PostgresTurn:
    """The Turn of PostgresStorage: one connection, one transaction, the conversation's lock."""

    def __init__(self, conn: Connection, key: ConversationKey) -> None:
        self._conn = conn
        self._key = key

    async def load(self) -> ConversationState | None:
        return await _load(self._conn, self._key)

    async def save(self, state: ConversationState) -> None:
        await _upsert_conversation(self._conn, self._key, state)

    async def record_decision(self, record: DecisionRecord, state: ConversationState) -> int:
        row = to_row(record)
        columns = ", ".join(row)
        marks = ", ".join("%s" for _ in row)
        cursor = await self._conn.execute(
            f"INSERT INTO decisions ({columns}) VALUES ({marks}) RETURNING id",
            list(row.values()),
        )
        inserted = await cursor.fetchone()
        assert inserted is not None
        await _upsert_conversation(self._conn, self._key, state)
        await self._conn.execute(
            "INSERT INTO profiles (channel, user_id, last_department, updated_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (channel, user_id) DO UPDATE SET"
            " last_department = excluded.last_department, updated_at = excluded.updated_at",
            [self._key.channel, self._key.user, record.department, record.created_at],
        )
        return int(inserted["id"])

    async def last_department(self) -> str | None:
        return await _last_department(self._conn, self._key)

    async def last_decision(self) -> StoredDecision | None:
        return await _last_decision(self._conn, self._key)

    async def schedule_followup(self, decision_id: int, due_at: float, lang: str) -> None:
        key = self._key
        await self._conn.execute(
            "INSERT INTO followups (decision_id, channel, chat, user_id, lang, due_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (decision_id) DO NOTHING",
            [decision_id, key.channel, key.chat, key.user, lang, due_at],
        )

    async def open_followup(self, decision_id: int | None = None) -> FollowUp | None:
        key = self._key
        sql = (
            "SELECT * FROM followups WHERE channel = %s AND chat = %s AND user_id = %s"
            " AND sent_at IS NOT NULL AND answered_at IS NULL"
        )
        params: list[Any] = [key.channel, key.chat, key.user]
        if decision_id is not None:
            sql += " AND decision_id = %s"
            params.append(decision_id)
        cursor = await self._conn.execute(
            sql + " ORDER BY sent_at DESC, decision_id DESC LIMIT 1", params
        )
        row = await cursor.fetchone()
        return None if row is None else followup_of(row)

    async def record_actual(self, decision_id: int, actual: str, now: float) -> bool:
        cursor = await self._conn.execute(
            "UPDATE followups SET answered_at = %s, due_at = NULL, claimed_by = NULL,"
            " claimed_until = NULL WHERE decision_id = %s AND answered_at IS NULL",
            [now, decision_id],
        )
        if not cursor.rowcount:
            return False
        await self._conn.execute(
            "UPDATE decisions SET actual_outcome = %s, actual_at = %s WHERE id = %s",
            [actual, now, decision_id],
        )
        return True


async def _load(conn: Connection, key: ConversationKey) -> ConversationState | None:
    cursor = await conn.execute(
        "SELECT state FROM conversations WHERE channel = %s AND chat = %s AND user_id = %s",
        [key.channel, key.chat, key.user],
    )
    row = await cursor.fetchone()
    return None if row is None else ConversationState.model_validate_json(row["state"])


async def _upsert_conversation(
    conn: Connection, key: ConversationKey, state: ConversationState
) -> None:
    await conn.execute(
        "INSERT INTO conversations (channel, chat, user_id, state, updated_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (channel, chat, user_id) DO UPDATE SET"
        " state = excluded.state, updated_at = excluded.updated_at",
        [key.channel, key.chat, key.user, state.model_dump_json(), state.updated_at],
    )


async def _last_department(conn: Connection, key: ConversationKey) -> str | None:
    cursor = await conn.execute(
        "SELECT last_department FROM profiles WHERE channel = %s AND user_id = %s",
        [key.channel, key.user],
    )
    row = await cursor.fetchone()
    return None if row is None else row["last_department"]


async def _last_decision(conn: Connection, key: ConversationKey) -> StoredDecision | None:
    cursor = await conn.execute(
        "SELECT * FROM decisions WHERE channel = %s AND user_id = %s"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        [key.channel, key.user],
    )
    row = await cursor.fetchone()
    return None if row is None else from_row(row)


def where_sql(where: DecisionFilter) -> tuple[str, list[Any]]:
    """The filter as a condition on `decisions d` (tsvector search, ILIKE) and its parameters."""
    clauses, params = common_clauses(where, "%s")
    for column, value in (("department", where.department), ("partner", where.partner)):
        if value:
            clauses.append(f"d.{column} ILIKE %s ESCAPE '\\'")
            params.append(like_pattern(value))
    for word in where.words():
        # Each word as a prefix of a word as written, or as a Swedish or English stem.
        clauses.append(
            "d.search @@ (to_tsquery('simple', tripcheck_unaccent(%s) || ':*')"
            " || to_tsquery('swedish', tripcheck_unaccent(%s))"
            " || to_tsquery('english', tripcheck_unaccent(%s)))"
        )
        params.extend([word, word, word])
    return (" AND ".join(clauses) or "TRUE"), params


class PostgresDecisionLog:
    """DecisionLog on the PostgreSQL store's pool."""

    def __init__(self, store: PostgresStorage) -> None:
        self._store = store

    async def _decisions(self, sql: str, params: list[Any]) -> list[StoredDecision]:
        async def work(conn: Connection) -> list[StoredDecision]:
            cursor = await conn.execute(sql, params)
            return [from_row(row) for row in await cursor.fetchall()]

        return await self._store.run(work)

    async def query_decisions(
        self, where: DecisionFilter, *, limit: int, offset: int = 0
    ) -> list[StoredDecision]:
        condition, params = where_sql(where)
        return await self._decisions(
            f"SELECT d.* FROM decisions d WHERE {condition}"
            " ORDER BY d.created_at DESC, d.id DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        if not -(2**63) <= decision_id < 2**63:
            return None
        found = await self._decisions("SELECT * FROM decisions WHERE id = %s", [decision_id])
        return found[0] if found else None

    async def count_decisions(self, where: DecisionFilter) -> int:
        condition, params = where_sql(where)

        async def work(conn: Connection) -> int:
            if where.words() and where == DecisionFilter(search=where.search):
                # Search alone: counted from the search-term runs, not the decisions' rows.
                counted = await count_search(conn, where.words())
                if counted is not None:
                    return counted
            cursor = await conn.execute(
                f"SELECT count(*) AS n FROM decisions d WHERE {condition}", params
            )
            row = await cursor.fetchone()
            return 0 if row is None else int(row["n"])

        return await self._store.run(work)

    async def stream_decisions(
        self, where: DecisionFilter, *, batch: int = 500
    ) -> AsyncIterator[StoredDecision]:
        condition, params = where_sql(where)
        sql = f"SELECT d.* FROM decisions d WHERE {condition} AND d.id > %s ORDER BY d.id LIMIT %s"
        after = 0
        while True:
            rows = await self._decisions(sql, [*params, after, batch])
            if not rows:
                return
            for row in rows:
                yield row
            after = rows[-1].id

    def stream_export_rows(
        self, where: DecisionFilter, *, batch: int = 2000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        condition, params = where_sql(where)
        sql = (
            f"SELECT {EXPORT_SELECT} FROM decisions d WHERE {condition} AND d.id > %s"
            " ORDER BY d.id LIMIT %s"
        )

        async def fetch(after: int) -> list[tuple[Any, ...]]:
            async def work(conn: Connection) -> list[tuple[Any, ...]]:
                cursor = conn.cursor(row_factory=tuple_row)
                await cursor.execute(sql, [*params, after, batch])
                return await cursor.fetchall()

            return await self._store.run(work)

        return keyset_batches(fetch)

    async def stats(self, where: DecisionFilter) -> list[MonthStats]:
        condition, params = where_sql(where)
        if not params:
            # The whole log: the totals the trigger keeps (migration 002), not a scan.
            async def kept(conn: Connection) -> list[MonthStats]:
                cursor = await conn.execute(
                    "SELECT month, department, total, travel, digital, not_qualified,"
                    " avoided_kg, asked, answered, confirmed_digital, confirmed_avoided_kg"
                    " FROM decision_month_stats WHERE total > 0"
                    " ORDER BY month, department"
                )
                return [MonthStats.model_validate(row) for row in await cursor.fetchall()]

            return await self._store.run(kept)
        sql = (
            "SELECT to_char(to_timestamp(d.created_at) AT TIME ZONE %s, 'YYYY-MM') AS month,"
            " d.department AS department, count(*) AS total,"
            " count(*) FILTER (WHERE d.outcome = 'travel') AS travel,"
            " count(*) FILTER (WHERE d.outcome = 'digital') AS digital,"
            " count(*) FILTER (WHERE d.outcome = 'not_qualified') AS not_qualified,"
            " coalesce(sum(d.co2_avoided_kg), 0) AS avoided_kg,"
            " count(d.followed_up_at) AS asked, count(d.actual_outcome) AS answered,"
            " count(*) FILTER (WHERE d.actual_outcome = 'digital') AS confirmed_digital,"
            " coalesce(sum(coalesce(d.co2_avoided_kg, d.co2_planned_kg, 0))"
            " FILTER (WHERE d.actual_outcome = 'digital'), 0) AS confirmed_avoided_kg"
            f" FROM decisions d WHERE {condition}"
            " GROUP BY month, department ORDER BY month, department"
        )

        async def work(conn: Connection) -> list[MonthStats]:
            cursor = await conn.execute(sql, [STATS_TIME_ZONE, *params])
            return [MonthStats.model_validate(row) for row in await cursor.fetchall()]

        return await self._store.run(work)

    async def add_review(
        self, decision_id: int, reviewer: str, verdict: Verdict, comment: str, now: float
    ) -> Review:
        async def work(conn: Connection) -> Review:
            cursor = await conn.execute(
                "INSERT INTO reviews (decision_id, reviewer, verdict, comment, created_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING *",
                [decision_id, reviewer, verdict, comment, now],
            )
            return Review.model_validate(await cursor.fetchone())

        return await self._store.run(work)

    async def reviews(self, decision_id: int) -> list[Review]:
        async def work(conn: Connection) -> list[Review]:
            cursor = await conn.execute(
                "SELECT * FROM reviews WHERE decision_id = %s ORDER BY created_at, id",
                [decision_id],
            )
            return [Review.model_validate(row) for row in await cursor.fetchall()]

        return await self._store.run(work)

    @staticmethod
    async def _clear(conn: Connection, condition: str, params: list[Any], now: float) -> int:
        cursor = await conn.execute(
            f"SELECT id, answers FROM decisions WHERE {condition} ORDER BY id FOR UPDATE", params
        )
        rows = await cursor.fetchall()
        if not rows:
            return 0
        ids = [row["id"] for row in rows]
        # One statement for every decision: the triggers run once, over all of them.
        await conn.execute(
            "UPDATE decisions d SET user_id = '', chat = '', transcript = '[]',"
            " answers = cleared.answers, motivation = NULL, purged_at = %s"
            " FROM unnest(%s::bigint[], %s::text[]) AS cleared (id, answers)"
            " WHERE d.id = cleared.id",
            [now, ids, [without_raw_text(row["answers"]) for row in rows]],
        )
        # The due-list holds where to reach the person: it goes with them.
        await conn.execute("DELETE FROM followups WHERE decision_id = ANY(%s)", [ids])
        return len(rows)

    @staticmethod
    async def _audit(
        conn: Connection, now: float, actor: str, action: str, details: dict[str, Any]
    ) -> None:
        await conn.execute(
            "INSERT INTO audit (at, actor, action, details) VALUES (%s, %s, %s, %s)",
            [now, actor, action, json.dumps(details)],
        )
        audit_log.info(action, extra={"actor": actor, **details})

    async def purge_before(self, cutoff: float, now: float) -> int:
        async def work(conn: Connection) -> int:
            count = await self._clear(conn, "created_at < %s AND purged_at IS NULL", [cutoff], now)
            cursor = await conn.execute("DELETE FROM conversations WHERE updated_at < %s", [cutoff])
            details = {"before": cutoff, "decisions": count, "conversations": cursor.rowcount}
            await self._audit(conn, now, "retention", "purge", details)
            return count

        return await self._store.transaction(work)

    async def erase_user(
        self, user_id: str, now: float, actor: str, mark: str | None = None
    ) -> int:
        async def work(conn: Connection) -> int:
            count = await self._clear(conn, "user_id = %s", [user_id], now)
            await conn.execute("DELETE FROM conversations WHERE user_id = %s", [user_id])
            await conn.execute("DELETE FROM profiles WHERE user_id = %s", [user_id])
            if mark is not None:
                await self._remember(conn, [Erasure(mark=mark, erased_at=now)])
            # The audit line must not keep the identifier the person asked to have erased.
            marked = {"erasure": mark} if mark is not None else {}
            await self._audit(conn, now, actor, "erase", {"decisions": count, **marked})
            return count

        return await self._store.transaction(work)

    @staticmethod
    async def _remember(conn: Connection, erasures: list[Erasure]) -> None:
        async with conn.cursor() as cursor:
            await cursor.executemany(
                "INSERT INTO erasures (mark, erased_at) VALUES (%s, %s)"
                " ON CONFLICT (mark) DO NOTHING",
                [(erasure.mark, erasure.erased_at) for erasure in erasures],
            )

    async def user_ids(self) -> set[str]:
        async def work(conn: Connection) -> set[str]:
            cursor = await conn.execute(
                "SELECT user_id FROM decisions WHERE user_id != ''"
                " UNION SELECT user_id FROM conversations UNION SELECT user_id FROM profiles"
            )
            return {str(row["user_id"]) for row in await cursor.fetchall() if row["user_id"]}

        return await self._store.run(work)

    async def erasures(self) -> list[Erasure]:
        async def work(conn: Connection) -> list[Erasure]:
            cursor = await conn.execute(
                "SELECT mark, erased_at FROM erasures ORDER BY erased_at, mark"
            )
            return [Erasure.model_validate(row) for row in await cursor.fetchall()]

        return await self._store.run(work)

    async def remember_erasures(self, erasures: list[Erasure]) -> None:
        async def work(conn: Connection) -> None:
            await self._remember(conn, erasures)

        await self._store.transaction(work)

    async def save_admin(self, username: str, password_hash: str, now: float) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO admins (username, password_hash, created_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                [username, password_hash, now],
            )
            await self._audit(conn, now, "cli", "admin_saved", {"username": username})

        await self._store.transaction(work)

    async def admin_password_hash(self, username: str) -> str | None:
        async def work(conn: Connection) -> str | None:
            cursor = await conn.execute(
                "SELECT password_hash FROM admins WHERE username = %s", [username]
            )
            row = await cursor.fetchone()
            return None if row is None else str(row["password_hash"])

        return await self._store.run(work)

    async def end_session(self, session_id: str, until: float, now: float) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute(
                "INSERT INTO ended_sessions (session_id, until) VALUES (%s, %s)"
                " ON CONFLICT (session_id) DO NOTHING",
                [session_id, until],
            )
            await conn.execute("DELETE FROM ended_sessions WHERE until < %s", [now])

        await self._store.transaction(work)

    async def session_ended(self, session_id: str, now: float) -> bool:
        async def work(conn: Connection) -> bool:
            cursor = await conn.execute(
                "SELECT 1 AS ended FROM ended_sessions WHERE session_id = %s", [session_id]
            )
            return await cursor.fetchone() is not None

        return await self._store.run(work)

    async def login_failed(self, key: str, now: float, window: float) -> int:
        async def work(conn: Connection) -> int:
            cursor = await conn.execute(
                "INSERT INTO login_failures AS f (key, failures, first_at, last_at)"
                " VALUES (%s, 1, %s, %s) ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN f.first_at <= %s THEN 1 ELSE f.failures + 1 END,"
                " first_at = CASE WHEN f.first_at <= %s THEN excluded.first_at"
                " ELSE f.first_at END,"
                " last_at = excluded.last_at RETURNING failures",
                [key, now, now, now - window, now - window],
            )
            row = await cursor.fetchone()
            # A few expired keys go with every failure: the table stays bounded, O(1) each.
            await conn.execute(
                "DELETE FROM login_failures WHERE key IN (SELECT key FROM login_failures"
                " WHERE last_at <= %s LIMIT 4 FOR UPDATE SKIP LOCKED)",
                [now - window],
            )
            assert row is not None
            return int(row["failures"])

        return await self._store.transaction(work)

    async def login_failures(self, key: str, now: float, window: float) -> tuple[int, float]:
        async def work(conn: Connection) -> tuple[int, float]:
            cursor = await conn.execute(
                "SELECT failures, first_at FROM login_failures WHERE key = %s AND first_at > %s",
                [key, now - window],
            )
            row = await cursor.fetchone()
            return (0, now) if row is None else (int(row["failures"]), row["first_at"] + window)

        return await self._store.run(work)

    async def login_succeeded(self, key: str) -> None:
        async def work(conn: Connection) -> None:
            await conn.execute("DELETE FROM login_failures WHERE key = %s", [key])

        await self._store.run(work)

    async def lease(self, name: str, holder: str, seconds: float, now: float) -> bool:
        async def work(conn: Connection) -> bool:
            cursor = await conn.execute(
                "INSERT INTO leases (name, holder, until) VALUES (%s, %s, %s)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until"
                " WHERE leases.until < %s OR leases.holder = excluded.holder RETURNING name",
                [name, holder, now + seconds, now],
            )
            return await cursor.fetchone() is not None

        return await self._store.run(work)
