"""The decision log on SQLite: admin queries, statistics, reviews, retention and erasure."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, Protocol, TypeVar

import sqlite_utils

from bot.decision_log import DecisionFilter, MonthStats, Review, Verdict
from bot.storage import StoredDecision

T = TypeVar("T")


class Runner(Protocol):
    """Runs database work on the store's worker thread."""

    def __call__(self, work: Callable[[], T], /) -> Awaitable[T]: ...


log = logging.getLogger("tripcheck.audit")

# What identifies a person in a decision: who, where, and what they typed.
PERSONAL_COLUMNS_CLEARED = "user_id = '', chat = '', transcript = '[]', answers = ?, purged_at = ?"


def _without_raw_text(answers_json: str | None) -> str:
    """Answers keep their interpreted values and labels, not the text as typed."""
    answers: dict[str, Any] = json.loads(answers_json or "{}")
    for answer in answers.values():
        if isinstance(answer, dict):
            answer["raw"] = ""
    return json.dumps(answers, ensure_ascii=False)


class SQLiteDecisionLog:
    """DecisionLog over the SQLite store's connection and worker thread."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        run: Runner,
        from_row: Callable[[dict[str, Any]], StoredDecision],
    ) -> None:
        self._db = db
        self._run = run
        self._from_row = from_row

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cursor = self._db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    async def query_decisions(
        self, where: DecisionFilter, *, limit: int, offset: int = 0
    ) -> list[StoredDecision]:
        condition, params = where.where()
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
        condition, params = where.where()
        sql = f"SELECT count(*) FROM decisions d WHERE {condition}"
        return int(await self._run(lambda: self._db.execute(sql, params).fetchone()[0]))

    async def stream_decisions(
        self, where: DecisionFilter, *, batch: int = 500
    ) -> AsyncIterator[StoredDecision]:
        condition, params = where.where()
        # Keyset pagination: each batch starts after the last id, so memory stays constant
        # and no OFFSET rescans the table.
        sql = f"SELECT d.* FROM decisions d WHERE {condition} AND d.id > ? ORDER BY d.id LIMIT ?"
        after = 0
        while True:
            rows = await self._run(partial(self._rows, sql, [*params, after, batch]))
            if not rows:
                return
            for row in rows:
                yield self._from_row(row)
            after = rows[-1]["id"]

    async def stats(self, where: DecisionFilter) -> list[MonthStats]:
        condition, params = where.where()
        sql = (
            "SELECT strftime('%Y-%m', d.created_at, 'unixepoch') AS month,"
            " d.department AS department, count(*) AS total,"
            " sum(d.outcome = 'travel') AS travel, sum(d.outcome = 'digital') AS digital,"
            " sum(d.outcome = 'not_qualified') AS not_qualified,"
            " coalesce(sum(d.co2_avoided_kg), 0) AS avoided_kg"
            f" FROM decisions d WHERE {condition}"
            " GROUP BY month, department ORDER BY month, department"
        )
        rows = await self._run(lambda: self._rows(sql, params))
        return [MonthStats.model_validate(row) for row in rows]

    async def add_review(
        self, decision_id: int, reviewer: str, verdict: Verdict, comment: str, now: float
    ) -> Review:
        def work() -> int:
            cursor = self._db.execute(
                "INSERT INTO reviews (decision_id, reviewer, verdict, comment, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [decision_id, reviewer, verdict, comment, now],
            )
            return int(cursor.lastrowid or 0)

        review_id = await self._run(work)
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
        """Clears identifiers of matching decisions in one transaction; returns how many."""
        conn = self._db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            rows = conn.execute(
                f"SELECT id, answers FROM decisions WHERE {condition}", params
            ).fetchall()
            for decision_id, answers in rows:
                conn.execute(
                    f"UPDATE decisions SET {PERSONAL_COLUMNS_CLEARED} WHERE id = ?",
                    [_without_raw_text(answers), now, decision_id],
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(rows)

    def _audit(self, now: float, actor: str, action: str, details: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO audit (at, actor, action, details) VALUES (?, ?, ?, ?)",
            [now, actor, action, json.dumps(details)],
        )
        log.info(action, extra={"actor": actor, **details})

    async def purge_before(self, cutoff: float, now: float) -> int:
        def work() -> int:
            count = self._clear("created_at < ? AND purged_at IS NULL", [cutoff], now)
            self._audit(now, "retention", "purge", {"before": cutoff, "decisions": count})
            return count

        return await self._run(work)

    async def erase_user(self, user_id: str, now: float, actor: str) -> int:
        def work() -> int:
            count = self._clear("user_id = ?", [user_id], now)
            self._db.execute("DELETE FROM conversations WHERE user_id = ?", [user_id])
            self._db.execute("DELETE FROM profiles WHERE user_id = ?", [user_id])
            # The audit line must not keep the identifier the person asked to have erased.
            self._audit(now, actor, "erase", {"decisions": count})
            return count

        return await self._run(work)

    async def save_admin(self, username: str, password_hash: str, now: float) -> None:
        def work() -> None:
            self._db.execute(
                "INSERT INTO admins (username, password_hash, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                [username, password_hash, now],
            )
            self._audit(now, "cli", "admin_saved", {"username": username})

        await self._run(work)

    async def admin_password_hash(self, username: str) -> str | None:
        def work() -> str | None:
            row = self._db.execute(
                "SELECT password_hash FROM admins WHERE username = ?", [username]
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._run(work)
