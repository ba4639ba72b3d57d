"""The decision log as admins read it: filters, statistics, reviews, retention and erasure."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

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
    # Every spelling a department was stored under (the admin's department matching).
    department_spellings: tuple[str, ...] = ()

    def words(self) -> list[str]:
        """The search words, each to match as a prefix (at most ten)."""
        return re.findall(r"\w+", self.search or "")[:10]

    def since_at(self) -> float | None:
        """The first moment `since` admits: midnight in Stockholm."""
        return None if self.since is None else _start_of(self.since)

    def until_before(self) -> float | None:
        """The first moment after `until` (inclusive: the whole Stockholm day counts, 23 or 25
        hours long when the clocks change)."""
        return None if self.until is None else _start_of(self.until + timedelta(days=1))


# Days, months and quarters as the municipality lives them.
STATS_TIME_ZONE = "Europe/Stockholm"


def _start_of(day: date) -> float:
    zone = ZoneInfo(STATS_TIME_ZONE)
    return datetime.combine(day, time.min, tzinfo=zone).timestamp()


class MonthStats(BaseModel):
    """Decisions of one month and department: counts by outcome and CO2e avoided as planned;
    and, from the follow-ups, how many were asked and answered, how many really went digital
    and the CO2e that confirms as avoided (the planned trip's, for each meeting that did)."""

    month: str
    department: str
    total: int
    travel: int
    digital: int
    not_qualified: int
    avoided_kg: float
    asked: int = 0
    answered: int = 0
    confirmed_digital: int = 0
    confirmed_avoided_kg: float = 0.0

    @property
    def share_digital(self) -> float:
        """Digital recommendations among those that qualified."""
        qualified = self.travel + self.digital
        return self.digital / qualified if qualified else 0.0

    def with_followups_of(self, rows: list[MonthStats]) -> MonthStats:
        """This (total) row with the follow-ups' figures of `rows` added up."""
        return self.model_copy(
            update={
                "asked": sum(r.asked for r in rows),
                "answered": sum(r.answered for r in rows),
                "confirmed_digital": sum(r.confirmed_digital for r in rows),
                "confirmed_avoided_kg": round(sum(r.confirmed_avoided_kg for r in rows), 1),
            }
        )


class Review(BaseModel):
    """An admin's review of a decision; the decision itself never changes."""

    id: int
    decision_id: int
    reviewer: str
    verdict: Verdict
    comment: str
    created_at: float


class Erasure(BaseModel):
    """One erasure as kept: the keyed hash of the erased user id (bot/erasure.py) and when."""

    mark: str
    erased_at: float


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

    def stream_export_rows(
        self, where: DecisionFilter, *, batch: int = 2000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Every matching decision, oldest first, in batches of plain rows: the columns of
        bot.export.CSV_COLUMNS as stored (created_at a timestamp, advisories JSON text), for
        an export that builds no model per row."""
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
        """Removes personal identifiers from decisions made before `cutoff`, and deletes
        unfinished checks last touched before it (their typed text); the audit says how many
        of each. Returns the number of decisions."""
        ...

    async def erase_user(
        self, user_id: str, now: float, actor: str, mark: str | None = None
    ) -> int:
        """Removes a person's identifiers everywhere (an erasure request) and keeps `mark`, the
        keyed hash of the id, in the erasures; returns decisions hit."""
        ...

    async def user_ids(self) -> set[str]:
        """Every user id still stored (in decisions, conversations and profiles)."""
        ...

    async def erasures(self) -> list[Erasure]:
        """Every erasure kept, oldest first."""
        ...

    async def remember_erasures(self, erasures: list[Erasure]) -> None:
        """Keeps erasures made elsewhere (before a restore); those already kept stay as they are."""
        ...

    async def save_admin(self, username: str, password_hash: str, now: float) -> None:
        """Creates or replaces a web admin account."""
        ...

    async def admin_password_hash(self, username: str) -> str | None:
        """The stored hash of an admin's password, or None for an unknown user."""
        ...

    async def end_session(self, session_id: str, until: float, now: float) -> None:
        """Logs a web admin session out everywhere until it would have expired."""
        ...

    async def session_ended(self, session_id: str, now: float) -> bool:
        """Whether a session was logged out (on any instance)."""
        ...

    async def login_failed(self, key: str, now: float, window: float) -> int:
        """Counts a failed login for `key` (user and address) in a fixed window that starts
        at its first failure; returns the failures in the current window. O(1)."""
        ...

    async def login_failures(self, key: str, now: float, window: float) -> tuple[int, float]:
        """The failures counted for `key` in its current window and when that window ends."""
        ...

    async def login_succeeded(self, key: str) -> None:
        """A successful login clears the key's failures."""
        ...

    async def lease(self, name: str, holder: str, seconds: float, now: float) -> bool:
        """Takes or renews the lease `name` for `holder` until now + seconds; False while
        another holder's lease runs. Singleton jobs (the daily purge) run under one, so
        several instances on one database run them once."""
        ...
