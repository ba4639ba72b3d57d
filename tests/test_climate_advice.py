"""Climate advice in conversations, decisions, batch rows and the decision log."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import sqlite_utils

from bot.batch import evaluate_row
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.state import ConversationState
from rules.answers import Interpreter
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SCHEMA_VERSION, SQLiteStorage, migrate
from tests.conftest import Chat
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK, answer_all
from tests.test_storage import record

STOCKHOLM_BY_AIR = {
    "id": "stockholm",
    "kind": "trip",
    "title": "SKR conference",
    "department": "Kommunstaben",
    "partner": "none",
    "destination": "Stockholm",
    "contributes_development": "yes",
    "external_monitoring": "yes",
    "influence": "no",
    "goals": [8],
    "physical_necessary": "yes",
    "travellers": 1,
    "travel_mode": "flight",
    "equality_considered": "yes",
    "in_annual_plan": "yes",
}


@pytest.fixture
def interpreter(rules: RuleSet, place_index: PlaceIndex) -> Interpreter:
    return Interpreter(rules, place_index)


async def test_the_comparison_appears_once_the_mode_is_known_in_swedish(
    places_engine: Engine,
) -> None:
    chat = Chat(places_engine)
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:5])
    assert "Oulu, Finland (167 km). ✓" in chat.texts()
    await answer_all(chat, SWEDISH_CHECK[5:11])
    comparison = chat.replies[0]["text"]
    assert comparison.startswith("Klimat, kg CO2e tur och retur för 2: digitalt 0")
    # Train and bus share one route to Oulu (train, bus over the border, train): told once.
    for mode in ("tåg + buss ≈", "bil ≈", "flyg ≈"):
        assert mode in comparison
    # Two by air to Oulu: 167 km × 0.27257 × 2 people × 2 ways ≈ 182 kg.
    assert "flyg ≈ 182 ← planerat" in comparison
    await answer_all(chat, SWEDISH_CHECK[11:])
    await chat.say("spara")
    co2 = chat.decision["co2"]
    assert chat.decision["outcome"] == "digital"
    assert co2["planned_mode"] == "flight" and co2["avoided_kg"] == co2[
        "planned_kg"
    ] == pytest.approx(182, abs=1)
    # One climate line in the short decision; the climate reason is among the details.
    assert "Klimat: att mötas digitalt sparar ≈ 182 kg CO2e mot planerat flyg" in chat.texts()
    await chat.say("varför?")
    assert "Digitalt möte undviker ≈ 182 kg CO2e jämfört med flyg för 2" in chat.texts()


async def test_the_comparison_appears_in_english_with_impossible_modes_marked(
    places_engine: Engine,
) -> None:
    chat = Chat(places_engine, lang="en")
    await chat.say("hi")
    script = [(s, "Santa Lucía de Tirajana" if s == "destination" else t) for s, t in ENGLISH_CHECK]
    script = [(s, "Santa Lucia de Tirajana" if s == "partner" else t) for s, t in script]
    await answer_all(chat, script[:10])
    comparison = chat.replies[0]["text"]
    assert comparison.startswith("Climate, kg CO2e for a return trip for 3: online 0")
    assert "train not possible" in comparison and "car not possible" in comparison
    assert "flight ≈" in comparison
    await answer_all(chat, script[10:])
    await chat.say("save")
    co2 = chat.decision["co2"]
    assert co2["alternatives"]["train"] is None and co2["alternatives"]["flight"] > 0
    assert co2["avoided_kg"] is None  # travel, not digital


async def test_an_unknown_place_gives_a_friendly_note_and_null_figures(
    places_engine: Engine,
) -> None:
    chat = Chat(places_engine, lang="en")
    await chat.say("hi")
    await answer_all(chat, ENGLISH_CHECK[:4])
    await chat.say("Xyzzyville Qwerty")
    assert "I don't know the place “Xyzzyville Qwerty”" in chat.texts()
    assert "without figures" in chat.texts()
    await answer_all(chat, ENGLISH_CHECK[5:])
    await chat.say("save")
    assert chat.decision["co2"] == {
        "distance_km": None,
        "planned_mode": None,
        "planned_kg": None,
        "alternatives": None,
        "hours": None,
        "lowest_reasonable_mode": None,
        "lowest_reasonable_kg": None,
        "avoided_kg": None,
        "lower_carbon": None,
    }
    assert any(r["code"] == "climate_unknown" for r in chat.decision["reasons"])


async def test_the_partners_home_town_is_offered_as_the_destination(places_engine: Engine) -> None:
    chat = Chat(places_engine)
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK[:3])
    await chat.say("Tromsö")
    assert chat.step == "destination"
    assert chat.question["choices"] == [{"label": "Tromsø", "value": "Tromsø"}]
    await chat.choose("Tromsø")
    assert "Tromsø, Norway (472 km)" in chat.texts()


def test_a_lower_carbon_mode_is_named_with_its_saving(interpreter: Interpreter) -> None:
    result = evaluate_row(1, dict(STOCKHOLM_BY_AIR), interpreter, "en")
    assert result.decision is not None and result.decision.outcome == "travel"
    co2 = result.decision.co2
    assert co2 is not None
    # Flight 726 km × 0.27257 × 2 = 395.8 kg; the night train 1180 km × 0.010 × 2 = 23.6 kg.
    assert co2["planned_kg"] == pytest.approx(395.8, abs=0.2)
    assert co2["lowest_reasonable_mode"] == "train"
    advisory = next(a for a in result.decision.advisories if a.code == "lower_carbon_mode")
    assert advisory.text.startswith("Train would emit about 372 kg CO2e less than flight")


def test_no_lower_carbon_advice_when_the_planned_mode_is_already_lowest(
    interpreter: Interpreter,
) -> None:
    by_train = {**STOCKHOLM_BY_AIR, "travel_mode": "train"}
    result = evaluate_row(1, by_train, interpreter, "en")
    assert result.decision is not None
    assert "lower_carbon_mode" not in result.decision.advisory_codes


def test_batch_rows_carry_co2_and_use_the_partners_town_without_a_destination(
    interpreter: Interpreter,
) -> None:
    row = {**STOCKHOLM_BY_AIR, "partner": "SERN", "destination": None, "travellers": 3}
    result = evaluate_row(2, row, interpreter, "sv")
    assert result.decision is not None and result.decision.destination == "Bologna"
    assert result.decision.co2 is not None
    assert result.decision.co2["distance_km"] == pytest.approx(2436, rel=0.01)


async def test_the_log_keeps_the_figures_as_columns(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    store = await SQLiteStorage.open(db)
    co2 = {
        "distance_km": 167.0,
        "planned_mode": "flight",
        "planned_kg": 182.1,
        "lowest_reasonable_mode": "train",
        "lowest_reasonable_kg": 8.7,
        "avoided_kg": 182.1,
    }
    key = ConversationKey("terminal", "anna", "anna")
    await store.record_decision(
        key, record(1.0).model_copy(update={"co2": co2}), ConversationState(lang="sv")
    )
    await store.close()
    row = (
        sqlite3.connect(db)
        .execute(
            "SELECT co2_distance_km, co2_planned_mode, co2_planned_kg, co2_lowest_mode,"
            " co2_lowest_kg, co2_avoided_kg FROM decisions"
        )
        .fetchone()
    )
    assert row == (167.0, "flight", 182.1, "train", 8.7, 182.1)


async def test_migration_two_fills_the_columns_of_older_decisions(tmp_path: Path) -> None:
    # A database as version 1 wrote it: only the first migration, a decision with its figures
    # in the JSON column.
    db = tmp_path / "old.db"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        migrate(conn, upto=1)
    old = sqlite_utils.Database(db)
    co2 = {"distance_km": 726.0, "planned_mode": "flight", "planned_kg": 395.8, "avoided_kg": 395.8}
    old.table("decisions").insert(
        {
            "created_at": 1.0,
            "channel": "terminal",
            "user_id": "anna",
            "outcome": "digital",
            "focus_area": "eu",
            "rules_version": "2024.1+old",
            "co2": json.dumps(co2),
        }
    )
    old.close()
    await (await SQLiteStorage.open(db)).close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT co2_avoided_kg, co2_planned_mode FROM decisions").fetchone() == (
        395.8,
        "flight",
    )
    total = conn.execute("SELECT sum(co2_avoided_kg) FROM decisions").fetchone()[0]
    assert total == 395.8
