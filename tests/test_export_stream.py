"""The CSV export's raw-row stream: on every backend it gives the cells a decision's own
CSV row has, in batches, filtered, and the cells stay safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from bot.decision_log import DecisionFilter
from bot.export import CSV_COLUMNS, csv_cells, csv_chunks, csv_row
from bot.state import ConversationState
from storage import Backend
from tests.test_storage import KEY, record

CO2 = {
    "distance_km": 1375.2,
    "planned_mode": "flight",
    "planned_kg": 310.5,
    "lowest_reasonable_mode": "train",
    "lowest_reasonable_kg": 12.0,
    "avoided_kg": 310.5,
}


async def recorded(backend: Backend) -> None:
    """Three decisions: one without climate figures, two with advisories and figures."""
    plain = record(1_760_000_000.75)
    hostile = record(1_760_100_000.0).model_copy(
        update={
            "title": "=HYPERLINK(1)",
            "department": "+46 stab",
            "partner": "@partner",
            "destination": "-Kemi",
            "outcome": "digital",
            "advisories": [{"code": "not_in_annual_plan"}, {"code": "check_budget"}],
            "co2": CO2,
        }
    )
    later = record(1_760_200_000.0).model_copy(
        update={"advisories": [{"code": "not_in_annual_plan"}], "co2": CO2}
    )
    for decision in (plain, hostile, later):
        await backend.record_decision(KEY, decision, ConversationState(lang="sv"))


async def test_the_export_stream_gives_each_decisions_csv_row_in_batches(
    backend: Backend,
) -> None:
    await recorded(backend)
    log = backend.decision_log
    batches = [rows async for rows in log.stream_export_rows(DecisionFilter(), batch=2)]
    assert [len(rows) for rows in batches] == [2, 1]
    streamed = [csv_cells(row) for rows in batches for row in rows]
    expected = [csv_row(d) async for d in log.stream_decisions(DecisionFilter())]
    assert streamed == expected
    assert streamed[1][CSV_COLUMNS.index("advisories")] == "not_in_annual_plan;check_budget"
    assert streamed[0][CSV_COLUMNS.index("created_at")] == "2025-10-09T08:53:20+00:00"


async def test_the_export_stream_keeps_to_the_filter(backend: Backend) -> None:
    await recorded(backend)
    where = DecisionFilter(outcome="digital")
    rows = [row async for rows in backend.decision_log.stream_export_rows(where) for row in rows]
    assert [csv_cells(row)[CSV_COLUMNS.index("outcome")] for row in rows] == ["digital"]


async def test_every_text_cell_that_starts_like_a_formula_is_quoted(backend: Backend) -> None:
    await recorded(backend)
    rows = [
        r async for rows in backend.decision_log.stream_export_rows(DecisionFilter()) for r in rows
    ]
    cells = dict(zip(CSV_COLUMNS, csv_cells(rows[1]), strict=True))
    assert cells["title"] == "'=HYPERLINK(1)"
    assert cells["department"] == "'+46 stab"
    assert cells["partner"] == "'@partner"
    assert cells["destination"] == "'-Kemi"
    assert cells["co2_avoided_kg"] == 310.5


async def test_the_csv_text_starts_with_the_header_and_holds_every_row() -> None:
    async def batches() -> AsyncIterator[list[tuple[object, ...]]]:
        special: dict[str, object] = {
            "created_at": 1_760_000_000.0,
            "advisories": "[]",
            "actual_at": None,
            "followed_up_at": None,
        }
        row = tuple(special.get(c, c) for c in CSV_COLUMNS)
        for _ in range(3):
            yield [row, row]

    text = "".join([chunk async for chunk in csv_chunks(batches(), first="\ufeff")])
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert parsed[0] == list(CSV_COLUMNS) and len(parsed) == 7


async def test_the_export_has_the_date_the_motivation_and_what_really_happened(
    backend: Backend,
) -> None:
    dated = record(1_760_000_000.0).model_copy(
        update={"happens_on": "2027-03-12", "happens_precision": "day", "motivation": "=Tåg"}
    )
    decision_id = await backend.record_decision(KEY, dated, ConversationState(lang="sv"))
    async with backend.turn(KEY) as tx:
        await tx.schedule_followup(decision_id, 1_760_000_100.0, "sv")
    async with backend.turn(KEY) as tx:
        assert await tx.record_actual(decision_id, "digital", 1_760_086_400.0)
    rows = [
        r async for rows in backend.decision_log.stream_export_rows(DecisionFilter()) for r in rows
    ]
    cells = dict(zip(CSV_COLUMNS, csv_cells(rows[0]), strict=True))
    assert (cells["happens_on"], cells["happens_precision"]) == ("2027-03-12", "day")
    assert cells["motivation"] == "'=Tåg"  # typed text is quoted like every other cell
    assert cells["actual_outcome"] == "digital"
    assert cells["actual_at"] == "2025-10-10T08:53:20+00:00"
    assert cells["followed_up_at"] is None  # never asked: answered by a button before
