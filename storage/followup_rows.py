"""A follow-up as a table row and back: the same columns in every backend."""

from __future__ import annotations

import json
from typing import Any

from bot.storage import FollowUp


def reference_json(reference: dict[str, str]) -> str:
    """A channel's conversation reference as the column's JSON text."""
    return json.dumps(reference, ensure_ascii=False, sort_keys=True)


def followup_of(row: dict[str, Any]) -> FollowUp:
    """A follow-up from its row (the claim's columns are the backend's own)."""
    reference = row.get("reference")
    data = {**row, "reference": json.loads(reference) if reference else None}
    return FollowUp.model_validate(data)
