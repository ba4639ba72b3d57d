"""A decision as a table row and back: the same columns in every backend."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_json

from bot.storage import DecisionRecord, StoredDecision

JSON_COLUMNS = ("advisories", "reasons", "guidelines", "answers", "transcript", "co2")
_NESTED = set(JSON_COLUMNS)


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
    """The columns of a new decision; nested values as JSON text (UTF-8, compact).

    The nested values are plain data already: pydantic's serializer writes each in one step
    (copied by model_dump, then encoded by json.dumps, they took a tenth of a save turn)."""
    row = record.model_dump(exclude=_NESTED)
    row.update(co2_columns(record.co2))
    for column in JSON_COLUMNS:
        value = getattr(record, column)
        row[column] = None if value is None else to_json(value).decode()
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
