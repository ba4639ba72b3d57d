"""The decision log as admins read it: filters, statistics, reviews, retention and erasure."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from bot.storage import StoredDecision

Verdict = Literal["agree", "disagree"]


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions to show; every criterion is optional and they all must hold."""

    since: date | None = None
    until: date | None = None
    outcome: str | None = None
    channel: str | None = None
    department: str | None = None
    partner: str | None = None
    focus_area: str | None = None
    search: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition on `decisions d` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.since is not None:
            clauses.append("d.created_at >= ?")
            params.append(_start_of(self.since))
        if self.until is not None:
            # `until` is inclusive: the whole day counts.
            clauses.append("d.created_at < ?")
            params.append(_start_of(self.until) + 86400)
        for column, value in (
            ("outcome", self.outcome),
            ("channel", self.channel),
            ("focus_area", self.focus_area),
        ):
            if value:
                clauses.append(f"d.{column} = ?")
                params.append(value)
        for column, value in (("department", self.department), ("partner", self.partner)):
            if value:
                clauses.append(f"d.{column} LIKE ? ESCAPE '\\'")
                params.append(f"%{_like(value)}%")
        query = fts_query(self.search or "")
        if query:
            clauses.append("d.id IN (SELECT rowid FROM decisions_fts WHERE decisions_fts MATCH ?)")
            params.append(query)
        return (" AND ".join(clauses) or "1 = 1"), params

    def is_empty(self) -> bool:
        return self == DecisionFilter()


def _start_of(day: date) -> float:
    return datetime.combine(day, time.min, tzinfo=UTC).timestamp()


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_query(text: str) -> str:
    """A safe FTS5 query from free text: every word must match, as a prefix."""
    words = re.findall(r"\w+", text)
    return " ".join(f'"{word}"*' for word in words[:10])


class MonthStats(BaseModel):
    """Decisions of one month and department: counts by outcome and CO2e avoided."""

    month: str
    department: str
    total: int
    travel: int
    digital: int
    not_qualified: int
    avoided_kg: float

    @property
    def share_digital(self) -> float:
        """Digital recommendations among those that qualified."""
        qualified = self.travel + self.digital
        return self.digital / qualified if qualified else 0.0


class Review(BaseModel):
    """An admin's review of a decision; the decision itself never changes."""

    id: int
    decision_id: int
    reviewer: str
    verdict: Verdict
    comment: str
    created_at: float


class DecisionLog(Protocol):
    """What admins need from storage: reading, counting, reviewing and forgetting."""

    async def query_decisions(
        self, where: DecisionFilter, *, limit: int, offset: int = 0
    ) -> list[StoredDecision]:
        """Decisions that match, newest first."""
        ...

    async def count_decisions(self, where: DecisionFilter) -> int:
        """How many decisions match."""
        ...

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        """One decision by id."""
        ...

    def stream_decisions(
        self, where: DecisionFilter, *, batch: int = 500
    ) -> AsyncIterator[StoredDecision]:
        """Every matching decision, oldest first, a batch at a time (constant memory)."""
        ...

    async def stats(self, where: DecisionFilter) -> list[MonthStats]:
        """Counts per month and department."""
        ...

    async def add_review(
        self, decision_id: int, reviewer: str, verdict: Verdict, comment: str, now: float
    ) -> Review:
        """Records a review of a decision."""
        ...

    async def reviews(self, decision_id: int) -> list[Review]:
        """A decision's reviews, oldest first."""
        ...

    async def purge_before(self, cutoff: float, now: float) -> int:
        """Removes personal identifiers from decisions made before `cutoff`; returns how many."""
        ...

    async def erase_user(self, user_id: str, now: float, actor: str) -> int:
        """Removes a person's identifiers everywhere (an erasure request); returns decisions hit."""
        ...

    async def save_admin(self, username: str, password_hash: str, now: float) -> None:
        """Creates or replaces a web admin account."""
        ...

    async def admin_password_hash(self, username: str) -> str | None:
        """The stored hash of an admin's password, or None for an unknown user."""
        ...
