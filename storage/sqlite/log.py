"""The decision log on SQLite: admin queries, statistics, reviews, retention and erasure."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, Protocol, TypeVar

from bot.decision_log import DecisionFilter, Erasure, MonthStats, Review, Verdict
from bot.storage import StoredDecision
from storage.export_stream import EXPORT_SELECT, keyset_batches
from storage.filters import common_clauses, like_pattern
from storage.rows import without_raw_text
from storage.sqlite.search_index import index_unindexed, unindexed

T = TypeVar("T")
log = logging.getLogger("tripcheck.audit")

# What identifies a person in a decision: who, where, and what they typed.
PERSONAL_COLUMNS_CLEARED = (
    "user_id = '', chat = '', transcript = '[]', answers = ?, motivation = NULL, purged_at = ?"
)


class Runner(Protocol):
    """Runs database work on the store's worker thread (a write: in its own transaction)."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


def where_sql(where: DecisionFilter) -> tuple[str, list[Any]]:
    """The filter as a condition on `decisions d` (FTS5 for search) and its parameters."""
    clauses, params = common_clauses(where, "?")
    for column, value in (("department", where.department), ("partner", where.partner)):
        if value:
            clauses.append(f"d.{column} LIKE ? ESCAPE '\\'")
            params.append(like_pattern(value))
    words = where.words()
    if words:
        # Every word must match, as a prefix; quoted, so no word is FTS5 syntax.
        clauses.append("d.id IN (SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ?)")
        params.append(" ".join(f'"{word}"*' for word in words))
    return (" AND ".join(clauses) or "1 = 1"), params


class SQLiteDecisionLog:
    """DecisionLog over the SQLite store's connection and worker thread."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        run: Runner,
        write: Runner,
        from_row: Callable[[dict[str, Any]], StoredDecision],
    ) -> None:
        self._conn = conn
        self._run = run
        self._write = write
        self._from_row = from_row

    async def _index_for(self, where: DecisionFilter) -> None:
        """A search reads the full-text index: first it gets the decisions not yet in it."""
        if not where.words():
            return
        if await self._run(lambda: unindexed(self._conn)):
            await self._write(lambda: index_unindexed(self._conn))

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor = self._conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    async def query_decisions(
        self, where: DecisionFilter, *, limit: int, offset: int = 0
    ) -> list[StoredDecision]:
        await self._index_for(where)
        condition, params = where_sql(where)
        sql = (
            f"SELECT d.* FROM decisions d WHERE {condition}"
            " ORDER BY d.created_at DESC, d.id DESC LIMIT ? OFFSET ?"
        )
        rows = await self._run(lambda: self._rows(sql, [*params, limit, offset]))
        return [self._from_row(row) for row in rows]

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        rows = await self._run(
            lambda: self._rows("SELECT * FROM decisions WHERE id = ?", [decision_id])
        )
        return self._from_row(rows[0]) if rows else None

    async def count_decisions(self, where: DecisionFilter) -> int:
        await self._index_for(where)
        condition, params = where_sql(where)
        sql = f"SELECT count(*) FROM decisions d WHERE {condition}"
        if where.words() and where == DecisionFilter(search=where.search):
            # Search alone: the full-text index holds one row per decision, so it is
            # counted without looking each match up in the log.
            sql = "SELECT count(*) FROM decisions_fts WHERE decisions_fts MATCH ?"
        return int(await self._run(lambda: self._conn.execute(sql, params).fetchone()[0]))

    async def stream_decisions(
        self, where: DecisionFilter, *, batch: int = 500
    ) -> AsyncIterator[StoredDecision]:
        condition, params = where_sql(where)
        # Keyset pagination: each batch starts after the last id, so memory stays constant
        # and no OFFSET rescans the table.
        sql = f"SELECT d.* FROM decisions d WHERE {condition} AND d.id > ? ORDER BY d.id LIMIT ?"
        await self._index_for(where)
        after = 0
        while True:
            rows = await self._run(partial(self._rows, sql, [*params, after, batch]))
            if not rows:
                return
            for row in rows:
                yield self._from_row(row)
            after = rows[-1]["id"]

    def stream_export_rows(
        self, where: DecisionFilter, *, batch: int = 2000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        condition, params = where_sql(where)
        sql = (
            f"SELECT {EXPORT_SELECT} FROM decisions d WHERE {condition} AND d.id > ?"
            " ORDER BY d.id LIMIT ?"
        )

        async def fetch(after: int) -> list[tuple[Any, ...]]:
            if after == 0:
                await self._index_for(where)
            return await self._run(
                lambda: self._conn.execute(sql, [*params, after, batch]).fetchall()
            )

        return keyset_batches(fetch)

    async def stats(self, where: DecisionFilter) -> list[MonthStats]:
        await self._index_for(where)
        condition, params = where_sql(where)
        if not params:
            # The whole log: the totals the triggers keep (migration 006), not a scan.
            sql = (
                "SELECT month, department, total, travel, digital, not_qualified, avoided_kg,"
                " asked, answered, confirmed_digital, confirmed_avoided_kg"
                " FROM decision_month_stats WHERE total > 0 ORDER BY month, department"
            )
            rows = await self._run(lambda: self._rows(sql, []))
            return [MonthStats.model_validate(row) for row in rows]
        sql = (
            "SELECT tripcheck_month(d.created_at) AS month,"
            " d.department AS department, count(*) AS total,"
            " sum(d.outcome = 'travel') AS travel, sum(d.outcome = 'digital') AS digital,"
            " sum(d.outcome = 'not_qualified') AS not_qualified,"
            " coalesce(sum(d.co2_avoided_kg), 0) AS avoided_kg,"
            " count(d.followed_up_at) AS asked, count(d.actual_outcome) AS answered,"
            " coalesce(sum(d.actual_outcome = 'digital'), 0) AS confirmed_digital,"
            " coalesce(sum(CASE WHEN d.actual_outcome = 'digital'"
            " THEN coalesce(d.co2_avoided_kg, d.co2_planned_kg, 0) END), 0)"
            " AS confirmed_avoided_kg"
            f" FROM decisions d WHERE {condition}"
            " GROUP BY month, department ORDER BY month, department"
        )
        rows = await self._run(lambda: self._rows(sql, params))
        return [MonthStats.model_validate(row) for row in rows]

    async def add_review(
        self, decision_id: int, reviewer: str, verdict: Verdict, comment: str, now: float
    ) -> Review:
        def work() -> int:
            cursor = self._conn.execute(
                "INSERT INTO reviews (decision_id, reviewer, verdict, comment, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [decision_id, reviewer, verdict, comment, now],
            )
            return int(cursor.lastrowid or 0)

        review_id = await self._write(work)
        return Review(
            id=review_id,
            decision_id=decision_id,
            reviewer=reviewer,
            verdict=verdict,
            comment=comment,
            created_at=now,
        )

    async def reviews(self, decision_id: int) -> list[Review]:
        sql = "SELECT * FROM reviews WHERE decision_id = ? ORDER BY created_at, id"
        rows = await self._run(lambda: self._rows(sql, [decision_id]))
        return [Review.model_validate(row) for row in rows]

    def _clear(self, condition: str, params: list[Any], now: float) -> int:
        """Clears identifiers of matching decisions (inside the caller's transaction)."""
        rows = self._conn.execute(
            f"SELECT id, answers FROM decisions WHERE {condition}", params
        ).fetchall()
        for decision_id, answers in rows:
            self._conn.execute(
                f"UPDATE decisions SET {PERSONAL_COLUMNS_CLEARED} WHERE id = ?",
                [without_raw_text(answers), now, decision_id],
            )
            # The due-list holds where to reach the person: it goes with them.
            self._conn.execute("DELETE FROM followups WHERE decision_id = ?", [decision_id])
        return len(rows)

    def _audit(self, now: float, actor: str, action: str, details: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO audit (at, actor, action, details) VALUES (?, ?, ?, ?)",
            [now, actor, action, json.dumps(details)],
        )
        log.info(action, extra={"actor": actor, **details})

    async def purge_before(self, cutoff: float, now: float) -> int:
        def work() -> int:
            count = self._clear("created_at < ? AND purged_at IS NULL", [cutoff], now)
            # An unfinished check holds what was typed, too: it goes once it is as old.
            stale = self._conn.execute(
                "DELETE FROM conversations WHERE updated_at < ?", [cutoff]
            ).rowcount
            self._audit(
                now,
                "retention",
                "purge",
                {"before": cutoff, "decisions": count, "conversations": stale},
            )
            return count

        return await self._write(work)

    async def erase_user(
        self, user_id: str, now: float, actor: str, mark: str | None = None
    ) -> int:
        def work() -> int:
            count = self._clear("user_id = ?", [user_id], now)
            self._conn.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
            self._conn.execute("DELETE FROM profiles WHERE user_id = ?", [user_id])
            if mark is not None:
                self._remember([Erasure(mark=mark, erased_at=now)])
            # The audit line must not keep the identifier the person asked to have erased.
            marked = {"erasure": mark} if mark is not None else {}
            self._audit(now, actor, "erase", {"decisions": count, **marked})
            return count

        return await self._write(work)

    def _remember(self, erasures: list[Erasure]) -> None:
        self._conn.executemany(
            "INSERT INTO erasures (mark, erased_at) VALUES (?, ?) ON CONFLICT (mark) DO NOTHING",
            [(erasure.mark, erasure.erased_at) for erasure in erasures],
        )

    async def user_ids(self) -> set[str]:
        sql = (
            "SELECT user_id FROM decisions WHERE user_id != ''"
            " UNION SELECT user_id FROM conversations UNION SELECT user_id FROM profiles"
        )
        rows = await self._run(lambda: self._conn.execute(sql).fetchall())
        return {str(row[0]) for row in rows if row[0]}

    async def erasures(self) -> list[Erasure]:
        sql = "SELECT mark, erased_at FROM erasures ORDER BY erased_at, mark"
        rows = await self._run(lambda: self._rows(sql, []))
        return [Erasure.model_validate(row) for row in rows]

    async def remember_erasures(self, erasures: list[Erasure]) -> None:
        await self._write(lambda: self._remember(erasures))

    async def save_admin(self, username: str, password_hash: str, now: float) -> None:
        def work() -> None:
            self._conn.execute(
                "INSERT INTO admins (username, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                [username, password_hash, now],
            )
            self._audit(now, "cli", "admin_saved", {"username": username})

        await self._write(work)

    async def admin_password_hash(self, username: str) -> str | None:
        def work() -> str | None:
            row = self._conn.execute(
                "SELECT password_hash FROM admins WHERE username = ?", [username]
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)

    async def end_session(self, session_id: str, until: float, now: float) -> None:
        def work() -> None:
            self._conn.execute(
                "INSERT INTO ended_sessions (session_id, until) VALUES (?, ?)"
                " ON CONFLICT (session_id) DO NOTHING",
                [session_id, until],
            )
            # Sessions past their expiry need no remembering: the table stays small.
            self._conn.execute("DELETE FROM ended_sessions WHERE until < ?", [now])

        await self._write(work)

    async def session_ended(self, session_id: str, now: float) -> bool:
        row = await self._run(
            lambda: self._conn.execute(
                "SELECT 1 FROM ended_sessions WHERE session_id = ?", [session_id]
            ).fetchone()
        )
        return row is not None

    async def login_failed(self, key: str, now: float, window: float) -> int:
        def work() -> int:
            row = self._conn.execute(
                "INSERT INTO login_failures (key, failures, first_at, last_at)"
                " VALUES (?, 1, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " failures = CASE WHEN login_failures.first_at <= ? THEN 1"
                " ELSE login_failures.failures + 1 END,"
                " first_at = CASE WHEN login_failures.first_at <= ? THEN excluded.first_at"
                " ELSE login_failures.first_at END,"
                " last_at = excluded.last_at RETURNING failures",
                [key, now, now, now - window, now - window],
            ).fetchone()
            # A few expired keys go with every failure: the table stays bounded, O(1) each.
            self._conn.execute(
                "DELETE FROM login_failures WHERE key IN"
                " (SELECT key FROM login_failures WHERE last_at <= ? LIMIT 4)",
                [now - window],
            )
            return int(row[0])

        return await self._write(work)

    async def login_failures(self, key: str, now: float, window: float) -> tuple[int, float]:
        row = await self._run(
            lambda: self._conn.execute(
                "SELECT failures, first_at FROM login_failures WHERE key = ? AND first_at > ?",
                [key, now - window],
            ).fetchone()
        )
        return (0, now) if row is None else (int(row[0]), float(row[1]) + window)

    async def login_succeeded(self, key: str) -> None:
        await self._write(
            lambda: self._conn.execute("DELETE FROM login_failures WHERE key = ?", [key])
        )

    async def lease(self, name: str, holder: str, seconds: float, now: float) -> bool:
        def work() -> bool:
            row = self._conn.execute(
                "INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " until = excluded.until WHERE leases.until < ? OR leases.holder = excluded.holder"
                " RETURNING name",
                [name, holder, now + seconds, now],
            ).fetchone()
            return row is not None

        return await self._write(work)
