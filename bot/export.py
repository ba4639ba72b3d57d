"""The decision log as rows: CSV columns and cells, streamed writers, totals."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.decision_log import MonthStats
from bot.storage import StoredDecision

CSV_COLUMNS = (
    "id",
    "created_at",
    "channel",
    "user_id",
    "role",
    "lang",
    "kind",
    "title",
    "department",
    "partner",
    "destination",
    "outcome",
    "focus_area",
    "advisories",
    "co2_distance_km",
    "co2_planned_mode",
    "co2_planned_kg",
    "co2_lowest_mode",
    "co2_avoided_kg",
    "rules_version",
)


def iso_time(timestamp: float) -> str:
    """A timestamp as an ISO 8601 UTC time to the second."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def csv_row(decision: StoredDecision) -> list[Any]:
    """One decision as a CSV row in CSV_COLUMNS order."""
    co2 = decision.co2 or {}
    values = {
        **decision.model_dump(),
        "created_at": iso_time(decision.created_at),
        "advisories": ";".join(a.get("code", "") for a in decision.advisories),
        "co2_distance_km": co2.get("distance_km"),
        "co2_planned_mode": co2.get("planned_mode"),
        "co2_planned_kg": co2.get("planned_kg"),
        "co2_lowest_mode": co2.get("lowest_reasonable_mode"),
        "co2_avoided_kg": co2.get("avoided_kg"),
    }
    return [_cell(values[c]) for c in CSV_COLUMNS]


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def summary(decision: StoredDecision) -> dict[str, Any]:
    """The fields a listing shows."""
    return dict(zip(CSV_COLUMNS, csv_row(decision), strict=True))


class DecisionWriter:
    """Writes decisions one at a time, so an export never holds the log in memory."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.fmt, self.out, self.count = fmt, out, 0
        if fmt == "csv":
            self.csv = csv.writer(out)
            self.csv.writerow(CSV_COLUMNS)
        else:
            out.write("[")

    def write(self, decision: StoredDecision) -> None:
        if self.fmt == "csv":
            self.csv.writerow(csv_row(decision))
        else:
            prefix = ",\n" if self.count else "\n"
            self.out.write(prefix + json.dumps(decision.model_dump(), ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()


def stats_total(rows: list[MonthStats]) -> MonthStats:
    """All rows added up (the month and department read "all")."""
    return MonthStats(
        month="all",
        department="all",
        total=sum(r.total for r in rows),
        travel=sum(r.travel for r in rows),
        digital=sum(r.digital for r in rows),
        not_qualified=sum(r.not_qualified for r in rows),
        avoided_kg=round(sum(r.avoided_kg for r in rows), 1),
    )
