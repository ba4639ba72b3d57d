"""The export's CSV text, built a column at a time, is what the csv module writes for the
cells csv_cells gives: quotes, line breaks, formulas, empty cells and times alike."""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Sequence
from typing import Any

from bot.export import CSV_COLUMNS, NUMBER_COLUMNS, TIME_COLUMNS, csv_cells, csv_text

# Characters that make a cell quoted or quoted as a formula, and ordinary ones.
TRICKY = ["=", "+", "-", "@", "\t", "\r", "\n", ",", '"', "'", " ", "å", "a", "1", "\x00"]


def written_by_the_csv_module(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(map(csv_cells, rows))
    return buffer.getvalue()


def random_cell(rng: random.Random, column: str) -> Any:
    if rng.random() < 0.2 and column not in ("id", "created_at"):
        return None
    if column in TIME_COLUMNS:
        return rng.uniform(0, 2e9)
    if column == "id":
        return rng.randrange(1, 10**9)
    if column in NUMBER_COLUMNS:
        return rng.choice([round(rng.uniform(-10, 9000), 1), 0.1 + 0.2, 1e-7, 12.0])
    if column == "advisories":
        return json.dumps([{"code": rng.choice(["not_in_annual_plan", "=x", "a,b"])}])
    return "".join(rng.choice(TRICKY) for _ in range(rng.randrange(0, 6)))


def test_random_cells_are_written_as_the_csv_module_writes_them() -> None:
    rng = random.Random(16)
    for _ in range(200):
        rows = [
            tuple(random_cell(rng, column) for column in CSV_COLUMNS)
            for _ in range(rng.randrange(1, 30))
        ]
        assert csv_text(rows) == written_by_the_csv_module(rows)


def test_a_batch_of_plain_cells_is_written_as_the_csv_module_writes_it() -> None:
    row: dict[str, Any] = {column: f"{column} value" for column in CSV_COLUMNS}
    row.update(id=7, created_at=1_790_000_000.5, actual_at=None, followed_up_at=1.0)
    row.update(co2_distance_km=700.0, co2_planned_kg=None, co2_avoided_kg=80.25)
    row.update(advisories="[]")
    rows = [tuple(row.values())] * 3
    assert csv_text(rows) == written_by_the_csv_module(rows)
    assert csv_text([]) == ""
