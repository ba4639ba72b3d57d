"""A decision as a table row and back: the same columns in every backend."""

from __future__ import annotations

import json
from typing import Any

from bot.storage import DecisionRecord, StoredDecision

JSON_COLUMNS = ("advisories", "reasons", "guidelines", "answers", "transcript", "co2")


def co2_columns(co2: dict[str, Any] | None) -> dict[str, Any]:
    """The climate figures that are also kept as columns, for totals."""
    co2 = co2 or {}
    return {
        "co2_distance_km": co2.get("distance_km"),
        "co2_planned_mode": co2.get("planned_mode"),
        "co2_planned_kg": co2.get("planned_kg"),
        "co2_lowest_mode": co2.get("lowest_reasonable_mode"),
        "co2_lowest_kg": co2.get("lowest_reasonable_kg"),
        "co2_avoided_kg": co2.get("avoided_kg"),
    }


def to_row(record: DecisionRecord) -> dict[str, Any]:
    """The columns of a new decision; nested values as JSON text."""
    row = record.model_dump()
    row.update(co2_columns(record.co2))
    for column in JSON_COLUMNS:
        row[column] = None if row[column] is None else json.dumps(row[column], ensure_ascii=False)
    return row


def from_row(row: dict[str, Any]) -> StoredDecision:
    """A stored decision from its row (columns the model does not know are ignored)."""
    for column in JSON_COLUMNS:
        if row.get(column) is not None:
            row[column] = json.loads(row[column])
    return StoredDecision.model_validate(row)


def without_raw_text(answers_json: str | None) -> str:
    """Answers keep their interpreted values and labels, not the text as typed."""
    answers: dict[str, Any] = json.loads(answers_json or "{}")
    for answer in answers.values():
        if isinstance(answer, dict):
            answer["raw"] = ""
    return json.dumps(answers, ensure_ascii=False)
