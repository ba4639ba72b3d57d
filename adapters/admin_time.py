"""The admin's calendar: days, months and quarters in Europe/Stockholm, where Kommunstaben
works, not in UTC, in what the admin shows and in how its date filters are applied."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

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
