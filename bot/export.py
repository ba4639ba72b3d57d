"""The decision log as rows: CSV columns and cells, streamed writers, totals."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import AsyncIterator, Sequence
from functools import lru_cache
from itertools import repeat
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
    "happens_on",
    "happens_precision",
    "motivation",
    "actual_outcome",
    "actual_at",
    "followed_up_at",
)


TIME_COLUMNS = ("created_at", "actual_at", "followed_up_at")
NUMBER_COLUMNS = ("id", *TIME_COLUMNS, "co2_distance_km", "co2_planned_kg", "co2_avoided_kg")
TEXT_CELLS = tuple(i for i, column in enumerate(CSV_COLUMNS) if column not in NUMBER_COLUMNS)
CREATED_AT = CSV_COLUMNS.index("created_at")
# Times that are empty until a follow-up is asked and answered.
LATER_TIMES = tuple(CSV_COLUMNS.index(column) for column in TIME_COLUMNS[1:])
ADVISORIES = CSV_COLUMNS.index("advisories")
# How a text cell that a spreadsheet would run as a formula starts.
FORMULA_STARTS = frozenset("=+-@\t\r")
FORMULA_PREFIXES = tuple(FORMULA_STARTS)
# What makes the csv module put a cell in quotes.
CSV_QUOTED = (",", '"', "\r", "\n")
UTC_SECOND = "%Y-%m-%dT%H:%M:%S+00:00"


def iso_time(timestamp: float) -> str:
    """A timestamp as an ISO 8601 UTC time to the second (the fraction dropped)."""
    # time.strftime is twice as fast as datetime here, and this runs for every exported row.
    return time.strftime(UTC_SECOND, time.gmtime(timestamp))


# The log holds few different sets of advisories: each set's codes are worked out once.
@lru_cache(maxsize=1024)
def advisory_codes(advisories_json: str | None) -> str:
    """The codes of a decision's advisories (their JSON text) joined with semicolons."""
    if not advisories_json or advisories_json == "[]":
        return ""
    return ";".join(a.get("code", "") for a in json.loads(advisories_json))


def export_row(decision: StoredDecision) -> tuple[Any, ...]:
    """A decision as the log's export stream gives it: CSV_COLUMNS, as stored."""
    co2 = decision.co2 or {}
    values = {
        **decision.model_dump(),
        "advisories": json.dumps(decision.advisories),
        "co2_distance_km": co2.get("distance_km"),
        "co2_planned_mode": co2.get("planned_mode"),
        "co2_planned_kg": co2.get("planned_kg"),
        "co2_lowest_mode": co2.get("lowest_reasonable_mode"),
        "co2_avoided_kg": co2.get("avoided_kg"),
    }
    return tuple(values[c] for c in CSV_COLUMNS)


def csv_cells(row: Sequence[Any]) -> list[Any]:
    """One row of the export stream as CSV cells: times in ISO 8601, advisories as codes, and
    text that starts like a formula quoted, so a spreadsheet will not run it (None is written
    as an empty cell by the csv module)."""
    cells = list(row)
    cells[CREATED_AT] = iso_time(cells[CREATED_AT])
    for index in LATER_TIMES:
        if cells[index] is not None:
            cells[index] = iso_time(cells[index])
    cells[ADVISORIES] = advisory_codes(cells[ADVISORIES])
    # Only the text columns are looked at: this runs for every row of the log.
    for index in TEXT_CELLS:
        value = cells[index]
        if value and value[0] in FORMULA_STARTS:
            cells[index] = "'" + value
    return cells


def unformula(value: Any) -> Any:
    """A text cell quoted if a spreadsheet would run it as a formula."""
    return "'" + value if value and value[0] in FORMULA_STARTS else value


def csv_quoted(cell: str) -> str:
    """A cell as the csv module writes it (the excel dialect, minimal quoting): in quotes,
    quotes doubled, if it holds a comma, a quote or a line break."""
    if any(character in cell for character in CSV_QUOTED):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def column_text(index: int, cells: tuple[Any, ...]) -> Sequence[str]:
    """One column of a batch as the text of its CSV cells, as csv_cells and the csv module
    make them."""
    if index == CREATED_AT:
        return list(map(time.strftime, repeat(UTC_SECOND), map(time.gmtime, cells)))
    if cells.count(None) == len(cells):
        return [""] * len(cells)
    if index in LATER_TIMES:
        return ["" if at is None else iso_time(at) for at in cells]
    texts: Sequence[str]
    if index == ADVISORIES:
        texts = list(map(advisory_codes, cells))
    elif None in cells:
        texts = ["" if cell is None else str(cell) for cell in cells]
    elif index in TEXT_CELLS:
        # A text column holds text (SQLite's TEXT affinity stores a number given as text).
        texts = cells
    else:
        texts = list(map(str, cells))
    # A column holds few different values, mostly: only those are looked at, and the column
    # is rewritten only if one of them starts like a formula or needs quotes.
    values = set(texts)
    if index in TEXT_CELLS and any(map(str.startswith, values, repeat(FORMULA_PREFIXES))):
        texts = list(map(unformula, texts))
        values = set(texts)
    joined = "".join(values)
    if any(character in joined for character in CSV_QUOTED):
        texts = list(map(csv_quoted, texts))
    return texts


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """A batch of the export stream as CSV text: what the csv module writes for the cells
    csv_cells gives, worked out a column at a time with maps and sets in C instead of Python
    code for each cell, since this runs for every row of the log."""
    if not rows:
        return ""
    columns = zip(*rows, strict=True)
    texts = [column_text(index, cells) for index, cells in enumerate(columns)]
    return "\r\n".join(map(",".join, zip(*texts, strict=True))) + "\r\n"


def csv_row(decision: StoredDecision) -> list[Any]:
    """One decision as a CSV row in CSV_COLUMNS order."""
    return csv_cells(export_row(decision))


async def csv_chunks(
    batches: AsyncIterator[Sequence[Sequence[Any]]], *, first: str = ""
) -> AsyncIterator[str]:
    """The CSV text of an export stream, the header first (after `first`), then one chunk per
    batch of rows, so an export never holds the log in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(first)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    async for rows in batches:
        yield csv_text(rows)


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
