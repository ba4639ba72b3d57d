"""A generated decision log for admin tests: realistic variety, reproducible."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from storage.sqlite.store import SQLiteStorage

DEPARTMENTS = [
    "Kommunstaben",
    "Luleå Business Region",
    "Kultur- och fritidsförvaltningen",
    "Barn- och utbildningsförvaltningen",
    "Tekniska förvaltningen",
]
PARTNERS = [
    ("Bottenviksbågen (Bothnian Arc)", "regional_arctic"),
    ("SERN", "eu"),
    ("Kemi", "twin_city"),
    ("Luleå Science Park", "business_region"),
    ("", "other"),
]
PLACES = ["Oulu", "Bologna", "Kemi", "Brussels", "Tokyo", "Tromsø"]
OUTCOMES = ["travel", "digital", "not_qualified"]
CHANNELS = ["slack", "teams", "telegram", "terminal", "rest"]
START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
END = datetime(2026, 11, 20, tzinfo=UTC).timestamp()


def generated_rows(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` decision rows spread over 2025–2026, every column a real one would have."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        outcome = rng.choice(OUTCOMES)
        partner, area = rng.choice(PARTNERS)
        place = rng.choice(PLACES)
        planned = round(rng.uniform(20, 3000), 1)
        avoided = planned if outcome == "digital" else None
        co2 = {
            "distance_km": round(rng.uniform(90, 9000), 1),
            "planned_mode": "flight",
            "planned_kg": planned,
            "lowest_reasonable_mode": "train",
            "lowest_reasonable_kg": round(planned / 10, 1),
            "avoided_kg": avoided,
        }
        title = f"{rng.choice(['Möte', 'Konferens', 'Studiebesök', 'Workshop'])} {n}"
        rows.append(
            {
                "created_at": rng.uniform(START, END),
                "channel": rng.choice(CHANNELS),
                "chat": f"chat-{n % 97}",
                "user_id": f"user-{n % 53}",
                "role": "employee",
                "lang": rng.choice(["sv", "en"]),
                "kind": rng.choice(["trip", "project", "activity"]),
                "title": title,
                "department": rng.choice(DEPARTMENTS),
                "partner": partner,
                "partner_id": None,
                "destination": place,
                "outcome": outcome,
                "focus_area": area,
                "advisories": json.dumps([{"code": "not_in_annual_plan"}] if n % 5 == 0 else []),
                "reasons": json.dumps(
                    [{"code": "adds_value", "text": "t", "section": "Inriktning"}]
                ),
                "guidelines": "[]",
                "answers": json.dumps(
                    {"title": {"raw": title.lower(), "value": title, "label": title}}
                ),
                "rules_version": "2024.1+test",
                "transcript": json.dumps([{"at": START, "step": "title", "in": title.lower()}]),
                "co2": json.dumps(co2),
                "co2_distance_km": co2["distance_km"],
                "co2_planned_mode": "flight",
                "co2_planned_kg": planned,
                "co2_lowest_mode": "train",
                "co2_lowest_kg": co2["lowest_reasonable_kg"],
                "co2_avoided_kg": avoided,
            }
        )
    return rows


def build_log(path: Path, count: int) -> list[dict[str, Any]]:
    """A database at `path` with the current schema holding `count` generated decisions."""

    async def create() -> None:
        await (await SQLiteStorage.open(path)).close()

    asyncio.run(create())
    rows = generated_rows(count)
    db = sqlite_utils.Database(path)
    db.table("decisions").insert_all(rows, batch_size=1000)
    db.close()
    return rows
