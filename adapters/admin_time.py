"""The admin's calendar: days, months and quarters in Europe/Stockholm, where Kommunstaben
works, not in UTC, in what the admin shows and in how its date filters are applied."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.decision_log import DecisionFilter

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local_time(timestamp: float) -> datetime:
    """A stored UTC timestamp as a Stockholm wall-clock time."""
    return datetime.fromtimestamp(timestamp, STOCKHOLM)


def local_day(timestamp: float) -> date:
    return local_time(timestamp).date()


def month_key(timestamp: float) -> str:
    """The Stockholm month a timestamp falls in, as YYYY-MM."""
    return local_time(timestamp).strftime("%Y-%m")


def start_of_day(day: date) -> float:
    """The UTC timestamp at which a Stockholm day begins (23 or 25 hours long at DST changes)."""
    return datetime.combine(day, time.min, tzinfo=STOCKHOLM).timestamp()


def quarter_of(day: date) -> tuple[int, date]:
    """The quarter number of a day and the quarter's first day."""
    number = (day.month - 1) // 3 + 1
    return number, date(day.year, 3 * number - 2, 1)


@dataclass(frozen=True)
class LocalDayFilter(DecisionFilter):
    """A DecisionFilter whose `since` and `until` are Stockholm days (the base class reads them
    as UTC days, which puts decisions made just after midnight in the wrong day), and which
    can match a department by every spelling it was stored under (`department_spellings`)."""

    department_spellings: tuple[str, ...] = ()

    def where(self) -> tuple[str, list[Any]]:
        others = {
            f.name: getattr(self, f.name)
            for f in fields(DecisionFilter)
            if f.name not in ("since", "until")
        }
        condition, params = DecisionFilter(**others).where()
        clauses: list[str] = []
        bounds: list[Any] = []
        if self.since is not None:
            clauses.append("d.created_at >= ?")
            bounds.append(start_of_day(self.since))
        if self.until is not None:
            # `until` is inclusive: the whole Stockholm day counts.
            clauses.append("d.created_at < ?")
            bounds.append(start_of_day(self.until + timedelta(days=1)))
        if self.department_spellings:
            marks = ", ".join("?" for _ in self.department_spellings)
            clauses.append(f"d.department IN ({marks})")
            bounds.extend(self.department_spellings)
        return " AND ".join([*clauses, condition]), [*bounds, *params]
