"""Which questions a check asks, given where it takes place (POLICY.md §9.1)."""

from __future__ import annotations

from typing import Any

import pytest

from rules.check import Destination, check_from_answers
from rules.fields import FIELDS, applies

QUALIFIED: dict[str, Any] = {
    "kind": "trip",
    "title": "Möte",
    "department": "Kommunstaben",
    "partner": {"id": None, "text": ""},
    "contributes_development": True,
    "external_monitoring": False,
    "influence": True,
    "goals": [8],
    "equality_considered": True,
    "in_annual_plan": True,
}
TRAVEL = ("physical_necessary", "digital_alternative", "travellers", "travel_mode")
TOWN = Destination(name="Oulu", country="FI", admin1="17").model_dump()
DIGITAL = Destination.digital_meeting("Teams").model_dump()
HOSTED = Destination(name="Luleå", country="SE", geonameid=604490, hosted=True).model_dump()


def asked(destination: dict[str, Any], **answers: Any) -> set[str]:
    values = {**QUALIFIED, "destination": destination, **answers}
    return {field for field in FIELDS if applies(field, values)}


def test_a_town_asks_every_travel_question_and_not_where_guests_come_from() -> None:
    fields = asked(TOWN, physical_necessary="no")
    assert set(TRAVEL) <= fields and "guests_from" not in fields


@pytest.mark.parametrize("presence", [None, "yes", "no", "unsure"])
def test_a_digital_place_asks_no_travel_question(presence: str | None) -> None:
    fields = asked(DIGITAL, physical_necessary=presence)
    assert not set(TRAVEL) & fields and "guests_from" not in fields
    assert {"goals", "equality_considered", "in_annual_plan"} <= fields


def test_a_hosted_activity_asks_where_the_guests_come_from_but_not_about_our_journey() -> None:
    fields = asked(HOSTED, physical_necessary="no")
    assert "guests_from" in fields
    assert {"physical_necessary", "digital_alternative"} <= fields
    assert not {"travellers", "travel_mode"} & fields


def test_guests_from_is_asked_right_after_the_destination() -> None:
    assert FIELDS.index("guests_from") == FIELDS.index("destination") + 1


def test_a_check_keeps_only_the_questions_that_apply() -> None:
    answers = {
        **QUALIFIED,
        "destination": HOSTED,
        "guests_from": TOWN,
        "physical_necessary": "yes",
        "travellers": 3,
        "travel_mode": "flight",
    }
    hosted = check_from_answers(answers)
    assert hosted.travellers is None and hosted.travel_mode is None
    assert hosted.guests_from is not None and hosted.guests_from.name == "Oulu"
    digital = check_from_answers({**answers, "destination": DIGITAL})
    assert digital.destination is not None and digital.destination.digital
    assert digital.physical_necessary is None and digital.guests_from is None
    assert digital.travellers is None


def test_a_destination_stored_before_the_new_fields_is_an_ordinary_town() -> None:
    old = Destination.model_validate({"name": "Oulu", "country": "FI"})
    assert (old.kind, old.approximate, old.hosted, old.digital) == ("town", False, False, False)
