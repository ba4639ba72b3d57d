"""Routes (POLICY.md §9.2): only modes that exist, hours from sourced data, what is reasonable,
the lowest reasonable mode, the lower-carbon advice and the refusal of a mode that does not exist.

Hours ranges are TRAVEL_FACTS.md's "Surface options from Luleå"; expected kilograms are worked
out by hand in a comment from the legs in climate.yml.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rules.check import Destination
from rules.climate import ClimateData, ClimateEstimate, Mode, estimate, route_for
from rules.footprint import (
    comparison,
    estimate_for,
    lower_carbon_text,
    lower_carbon_values,
    mode_available,
    refusal_text,
    unavailable_reason_for,
)
from rules.loader import RuleSetError, load_ruleset
from rules.models import Lang
from rules.places import Place, PlaceIndex
from rules.ruleset import RuleSet
from tests.test_rules_data import broken_copy

HAND = 0.005  # relative tolerance for hand-computed figures on rounded distances


@pytest.fixture(scope="module")
def data(rules: RuleSet) -> ClimateData:
    return rules.climate


@pytest.fixture(scope="module")
def lulea(place_index: PlaceIndex) -> Place:
    place = place_index.by_name("Luleå", "SE")
    assert place is not None
    return place


def place(index: PlaceIndex, text: str) -> Place:
    match = index.resolve(text)
    assert match.place is not None, (text, match)
    return match.place


def destination(index: PlaceIndex, text: str) -> Destination:
    """The place as a check carries it."""
    found = place(index, text)
    return Destination(
        name=found.name,
        country=found.country_code,
        country_name=found.country,
        latitude=found.latitude,
        longitude=found.longitude,
        geonameid=found.geonameid,
        admin1=found.admin1,
        continent=found.continent,
    )


def trip(
    index: PlaceIndex, lulea: Place, data: ClimateData, to: str, travellers: int, mode: str
) -> ClimateEstimate:
    return estimate(lulea, place(index, to), travellers, mode, data)


# --------------------------------------------------------- which modes exist, and how long

# TRAVEL_FACTS.md, "Surface options from Luleå": place, mode, the legs' modes, low–high hours.
SURFACE_OPTIONS = [
    ("Stockholm", "train", ("train",), 12.5, 12.5),  # night train about 12.5 h
    ("Haparanda", "train", ("train",), 1.75, 2.0),  # Norrtåg just under 2 h
    ("Oulu", "train", ("train", "bus", "train"), 4.5, 5.5),  # via Haparanda, Tornio, Kemi
    ("Oulu", "bus", ("train", "bus", "train"), 4.5, 5.5),
    ("Umeå", "train", ("train",), 3.5, 4.5),  # Norrtåg about 4 h
    ("Narvik", "train", ("train",), 6.5, 6.5),  # Malmbanan about 6.5 h
    ("Tromsø", "train", ("train", "bus"), 11, 13),  # train to Narvik + bus, 11–13 h
    ("Tromsø", "bus", ("train", "bus"), 11, 13),
    ("Bodø", "train", ("train", "bus"), 14, 16),  # train to Narvik + bus, 14–16 h
    ("Bodø", "bus", ("train", "bus"), 14, 16),  # the bus to Bodø is not 7 h
]


@pytest.mark.parametrize(("to", "mode", "legs", "low", "high"), SURFACE_OPTIONS)
def test_surface_options_from_lulea_take_the_hours_the_facts_give(
    place_index: PlaceIndex,
    lulea: Place,
    data: ClimateData,
    to: str,
    mode: Mode,
    legs: tuple[str, ...],
    low: float,
    high: float,
) -> None:
    route = route_for(lulea, place(place_index, to), mode, data)
    assert route is not None
    assert tuple(leg.mode for leg in route.legs) == legs
    assert route.legs[0].start == "Luleå" and route.legs[-1].end == to
    assert low <= route.hours <= high
    assert route.source.startswith("TRAVEL_FACTS.md")
    result = trip(place_index, lulea, data, to, 1, mode)
    assert result.hours[mode] == route.hours  # the estimate tells the same hours


@pytest.mark.parametrize("to", ["Tromsø", "Bodø"])
def test_tromso_and_bodo_go_by_train_to_narvik_and_on_by_bus(
    place_index: PlaceIndex, lulea: Place, data: ClimateData, to: str
) -> None:
    route = route_for(lulea, place(place_index, to), "train", data)
    assert route is not None
    assert [(leg.mode, leg.start, leg.end) for leg in route.legs] == [
        ("train", "Luleå", "Narvik"),
        ("bus", "Narvik", to),
    ]
    assert route.legs[0].km == 473  # Malmbanan


@pytest.mark.parametrize(
    "to", ["Reykjavik", "Santa Lucía de Tirajana", "Nuuk", "Tokyo", "San Jose, California"]
)
def test_no_surface_mode_to_islands_across_open_sea_or_other_continents(
    place_index: PlaceIndex, lulea: Place, data: ClimateData, to: str
) -> None:
    result = trip(place_index, lulea, data, to, 1, "flight")
    assert result.routes == {}
    assert {m for m, kg in result.alternatives.items() if kg is not None} == {"flight"}
    assert result.unavailable["train"] == "across_sea"
    assert result.unavailable["ferry"] == "no_crossing"


# Where a crossing exists (POLICY.md §9.2), the port the ferry lands at.
FERRY_TO = [
    ("Vaasa", "Vaasa"),  # Umeå–Vaasa
    ("Mariehamn", "Mariehamn"),  # Stockholm–Åland
    ("Turku", "Turku"),
    ("Helsinki", "Helsinki"),
    ("Tallinn", "Tallinn"),
    ("Riga", "Riga"),
    ("Visby", "Visby"),  # Gotland
    ("Gdańsk", "Gdynia"),  # southern Sweden–Poland, then the train on
    ("Rostock", "Rostock"),  # southern Sweden–Germany
    ("Copenhagen", "Helsingør"),  # southern Sweden–Denmark
]


@pytest.mark.parametrize(("to", "port"), FERRY_TO)
def test_a_ferry_only_where_a_crossing_exists(
    place_index: PlaceIndex, lulea: Place, data: ClimateData, to: str, port: str
) -> None:
    route = route_for(lulea, place(place_index, to), "ferry", data)
    assert route is not None
    ferry_legs = [leg for leg in route.legs if leg.mode == "ferry"]
    assert len(ferry_legs) == 1 and ferry_legs[0].end == port
    assert route.legs[0].start == "Luleå"
    # The legs join: each starts where the one before ended.
    assert all(a.end == b.start for a, b in zip(route.legs, route.legs[1:], strict=False))


NO_FERRY_TO = [
    # Reached over land, or inland: no crossing leads there.
    "Oulu",
    "Inari",
    "Vilnius",
    "Kemi",
    "Tornio",
    "Haparanda",
    "Umeå",
    "Stockholm",
    "Kiruna",
    "Narvik",
    "Tromsø",
    "Bodø",
    "Brussels",
    "Bologna",
    "Novéant-sur-Moselle",
    "Zenica",
]


@pytest.mark.parametrize("to", NO_FERRY_TO)
def test_no_ferry_to_a_place_reached_over_land_or_inland(
    place_index: PlaceIndex, lulea: Place, data: ClimateData, to: str
) -> None:
    assert route_for(lulea, place(place_index, to), "ferry", data) is None
    result = trip(place_index, lulea, data, to, 1, "flight")
    assert result.alternatives["ferry"] is None
    assert result.unavailable["ferry"] == "no_crossing"


def test_hours_differ_by_mode_on_a_generic_route(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    # Brussels, 1927 km × 1.3 = 2505 km: train at 70, bus at 55, car at 80 km/h.
    result = trip(place_index, lulea, data, "Brussels", 1, "flight")
    assert result.hours["train"] == pytest.approx(2505 / 70, rel=HAND)
    assert result.hours["bus"] == pytest.approx(2505 / 55, rel=HAND)
    assert result.hours["car"] == pytest.approx(2505 / 80, rel=HAND)


def test_the_baltic_states_by_land_go_the_long_way_round(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    # No 12 h train to Tallinn: round the Baltic, 696 km × 3.5 = 2436 km, 2436 / 70 = 34.8 h.
    result = trip(place_index, lulea, data, "Tallinn", 1, "flight")
    assert result.hours["train"] == pytest.approx(34.8, abs=0.2)
    assert result.reasonable["train"] is False


def test_no_train_where_rail_does_not_reach(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = trip(place_index, lulea, data, "Hammerfest", 1, "flight")
    assert result.alternatives["train"] is None and result.unavailable["train"] == "no_rail"
    assert result.alternatives["car"] is not None


# ------------------------------------------------- reasonable, lowest reasonable, lower carbon

# place, travellers, planned, lowest reasonable, lower-carbon mode (None: no advice).
CHOICES: list[tuple[str, int, str, Mode, Mode | None]] = [
    ("Tromsø", 1, "flight", "train", "train"),  # train + bus, about 12 h
    ("Stockholm", 1, "flight", "train", "train"),  # 12.5 h, but an overnight train
    ("Novéant-sur-Moselle", 8, "train", "train", None),  # 36 h, but planned: never the flight
    ("Bodø", 1, "bus", "bus", None),  # 15 h, planned, so reasonable
    ("Bodø", 1, "flight", "car", "car"),  # the 15 h train + bus is not reasonable; the car is
    ("Gdańsk", 1, "flight", "flight", None),  # every surface way takes over 13 h
    ("Tallinn", 1, "ferry", "ferry", None),  # the planned overnight ferry
    ("Tokyo", 2, "train", "flight", None),  # the planned train does not exist
    ("Narvik", 1, "train", "train", None),  # already the lowest
]


@pytest.mark.parametrize(("to", "travellers", "planned", "lowest", "lower"), CHOICES)
def test_reasonable_lowest_and_lower_carbon(
    place_index: PlaceIndex,
    lulea: Place,
    data: ClimateData,
    to: str,
    travellers: int,
    planned: str,
    lowest: Mode,
    lower: Mode | None,
) -> None:
    result = trip(place_index, lulea, data, to, travellers, planned)
    assert result.lowest_reasonable_mode == lowest
    assert (result.lower_carbon.mode if result.lower_carbon else None) == lower
    if result.planned_kg is not None:
        assert result.reasonable[result.planned_mode]
        lowest_kg = result.alternatives[lowest]
        assert lowest_kg is not None and lowest_kg <= result.planned_kg
    if result.lower_carbon is not None:
        assert result.lower_carbon.saving_kg == result.saving_kg()
        assert result.lower_carbon.saving_kg > 0


def test_reasonable_means_existing_and_at_most_13_hours_or_overnight(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    assert data.surface.reasonable_max_hours.value == 13
    assert "§9.2" in data.surface.reasonable_max_hours.source
    stockholm = trip(place_index, lulea, data, "Stockholm", 1, "flight")
    assert stockholm.reasonable == {
        "flight": True,
        "train": True,  # 12.5 h, overnight
        "bus": False,  # 726 × 1.3 / 55 = 17.2 h
        "car": True,  # 726 × 1.3 / 80 = 11.8 h
        "ferry": False,  # does not exist
    }


def test_tromso_by_air_is_told_the_train_and_bus_with_hours_and_saving(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = trip(place_index, lulea, data, "Tromsø", 1, "flight")
    better = result.lower_carbon
    assert better is not None and better.route is not None
    assert better.mode == "train" and better.route.modes == ("train", "bus")
    assert better.hours == 12.0
    # Flight, domestic band: 472 km × 0.27257 × 2 = 257.3 kg. Train + bus:
    # (473 km × 0.010 + 192 km × 0.027) × 2 = 19.8 kg. Saving 257.3 − 19.8 = 237.5 kg.
    assert better.kg == pytest.approx(19.8, abs=0.1)
    assert better.saving_kg == pytest.approx(237.5, rel=HAND)


def test_eight_by_train_to_noveant_are_not_told_to_fly(
    place_index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = trip(place_index, lulea, data, "Novéant-sur-Moselle", 8, "train")
    # Train abroad: 2066 km × 1.3 × 0.037 × 8 × 2 = 1590 kg; the flight 2066 × 0.18592 × 8 × 2
    # = 6146 kg. The bus would emit less (1160 kg) but takes 49 h: not reasonable.
    assert result.planned_kg == pytest.approx(1590, rel=HAND)
    assert result.alternatives["flight"] == pytest.approx(6146, rel=HAND)
    assert result.reasonable["bus"] is False
    assert result.lowest_reasonable_mode == "train" and result.lower_carbon is None


# ------------------------------------------------------- a planned mode that does not exist

AVAILABILITY = [
    ("Reykjavik", "train", "across_sea"),
    ("Reykjavik", "ferry", "no_crossing"),
    ("Oulu", "ferry", "no_crossing"),
    ("Inari", "ferry", "no_crossing"),
    ("Vilnius", "ferry", "no_crossing"),
    ("Visby", "train", "across_sea"),
    ("Hammerfest", "train", "no_rail"),
    ("Inari", "train", "no_rail"),
    ("Inari", "bus", None),
    ("Rovaniemi", "train", None),
    ("Visby", "ferry", None),
    ("Tromsø", "train", None),
    ("Tromsø", "bus", None),
    ("Reykjavik", "flight", None),
    ("Vaasa", "ferry", None),
    ("Novéant-sur-Moselle", "train", None),
]


@pytest.mark.parametrize(("to", "mode", "reason"), AVAILABILITY)
def test_mode_available(
    place_index: PlaceIndex, rules: RuleSet, to: str, mode: str, reason: str | None
) -> None:
    where = destination(place_index, to)
    assert unavailable_reason_for(where, mode, rules) == reason
    assert mode_available(where, mode, rules) is (reason is None)
    # The estimate agrees: the planned mode is there, or marked missing with the same reason.
    result = estimate_for(where, 1, mode, rules)
    assert result is not None and result.planned_available is (reason is None)
    if reason is not None:
        assert (mode, reason) in result.unavailable.items()


def test_an_unknown_place_is_not_refused(rules: RuleSet) -> None:
    nowhere = Destination(name="Xyzzyville")
    assert mode_available(nowhere, "ferry", rules)
    assert refusal_text(nowhere, "ferry", rules, "sv") is None


REFUSALS: list[tuple[str, str, Lang, str]] = [
    ("Reykjavik", "train", "sv", "Det går inget tåg till Reykjavík. Hur reser ni?"),
    ("Reykjavik", "train", "en", "There is no train to Reykjavík. How will you travel?"),
    ("Oulu", "ferry", "sv", "Det går ingen färja till Oulu. Hur reser ni?"),
    ("Oulu", "ferry", "en", "There is no ferry to Oulu. How will you travel?"),
    ("Reykjavik", "car", "sv", "Det går inte att åka bil till Reykjavík. Hur reser ni?"),
    ("Reykjavik", "bus", "en", "There is no bus to Reykjavík. How will you travel?"),
]


@pytest.mark.parametrize(("to", "mode", "lang", "text"), REFUSALS)
def test_a_mode_that_does_not_exist_is_refused_and_asked_again(
    place_index: PlaceIndex, rules: RuleSet, to: str, mode: str, lang: Lang, text: str
) -> None:
    assert refusal_text(destination(place_index, to), mode, rules, lang) == text


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_no_refusal_for_a_mode_that_exists(
    place_index: PlaceIndex, rules: RuleSet, lang: Lang
) -> None:
    assert refusal_text(destination(place_index, "Tromsø"), "train", rules, lang) is None


# ----------------------------------------------------------------- told in both languages

COMPARISONS: list[tuple[Lang, str, list[str]]] = [
    (
        "sv",
        "flight",
        [
            "Klimat, kg CO2e tur och retur för 1: digitalt 0",
            "tåg + buss ≈ 20 (ca 12 h enkel väg)",
            "bil ≈ 205 (ca 7,5 h enkel väg)",
            "flyg ≈ 257 ← planerat",
        ],
    ),
    (
        "en",
        "flight",
        [
            "Climate, kg CO2e for a return trip for 1: online 0",
            "train + bus ≈ 20 (about 12 h each way)",
            "car ≈ 205 (about 7.5 h each way)",
            "flight ≈ 257 ← planned",
        ],
    ),
    ("sv", "bus", ["tåg + buss ≈ 20 (ca 12 h enkel väg) ← planerat"]),
    ("en", "train", ["train + bus ≈ 20 (about 12 h each way) ← planned"]),
]


@pytest.mark.parametrize(("lang", "planned", "expected"), COMPARISONS)
def test_the_comparison_tells_a_shared_route_once_by_its_legs(
    place_index: PlaceIndex,
    lulea: Place,
    rules: RuleSet,
    lang: Lang,
    planned: str,
    expected: list[str],
) -> None:
    told = comparison(trip(place_index, lulea, rules.climate, "Tromsø", 1, planned), rules, lang)
    for part in expected:
        assert part in told
    assert told.count("≈ 20 ") == 1  # train and bus: one route, told once
    assert "ferry" not in told and "färja" not in told


LOWER_CARBON: list[tuple[Lang, str, dict[str, str]]] = [
    (
        "sv",
        "Tåg + buss (ca 12 h enkel väg) ger ungefär 237 kg CO2e mindre än flyg.",
        {"alternative": "Tåg + buss", "hours": "12", "saving": "237", "planned": "flyg"},
    ),
    (
        "en",
        "Train + bus (about 12 h each way) emits about 237 kg CO2e less than flight.",
        {"alternative": "Train + bus", "hours": "12", "saving": "237", "planned": "flight"},
    ),
]


@pytest.mark.parametrize(("lang", "text", "values"), LOWER_CARBON)
def test_the_lower_carbon_mode_is_named_with_hours_and_saving(
    place_index: PlaceIndex,
    lulea: Place,
    rules: RuleSet,
    lang: Lang,
    text: str,
    values: dict[str, str],
) -> None:
    result = trip(place_index, lulea, rules.climate, "Tromsø", 1, "flight")
    assert lower_carbon_values(result, rules, lang) == values
    assert lower_carbon_text(result, rules, lang) == text


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_no_lower_carbon_text_when_the_planned_mode_is_lowest(
    place_index: PlaceIndex, lulea: Place, rules: RuleSet, lang: Lang
) -> None:
    result = trip(place_index, lulea, rules.climate, "Novéant-sur-Moselle", 8, "train")
    assert lower_carbon_values(result, rules, lang) == {}
    assert lower_carbon_text(result, rules, lang) is None


# ------------------------------------------------------------ the route data is checked

TROMSO = 5  # destinations[5] in climate.yml


def tromso_route(data: dict[str, Any]) -> dict[str, Any]:
    entry = data["destinations"][TROMSO]
    assert entry["name"] == "Tromsø"
    route: dict[str, Any] = entry["routes"][0]
    return route


def unsourced(data: dict[str, Any]) -> None:
    del tromso_route(data)["source"]


def negative_hours(data: dict[str, Any]) -> None:
    tromso_route(data)["hours"]["low"] = -1


def unknown_mode(data: dict[str, Any]) -> None:
    tromso_route(data)["legs"][1]["mode"] = "rocket"


def legs_apart(data: dict[str, Any]) -> None:
    tromso_route(data)["legs"][1]["start"] = "Kiruna"


def serves_without_a_leg(data: dict[str, Any]) -> None:
    tromso_route(data)["modes"] = ["train", "bus", "car"]


def starts_elsewhere(data: dict[str, Any]) -> None:
    # Oulu's first leg is its own (Tromsø's train to Narvik is shared with Narvik and Bodø).
    oulu = data["destinations"][1]
    assert oulu["name"] == "Oulu"
    oulu["routes"][0]["legs"][0]["start"] = "Boden"


def ferry_without_hours(data: dict[str, Any]) -> None:
    crossing = next(c for c in data["crossings"] if c["name"] == "Stockholm–Tallinn")
    del crossing["legs"][1]["hours"]


ROUTE_PROBLEMS = [
    (unsourced, "climate.yml: destinations[5] (Tromsø) → routes[0] → source: Field required"),
    (
        negative_hours,
        "climate.yml: destinations[5] (Tromsø) → routes[0] → hours → low: "
        "Input should be greater than 0",
    ),
    (unknown_mode, "climate.yml: destinations[5] (Tromsø) → routes[0] → legs[1] → mode: "),
    (
        legs_apart,
        "climate.yml: destinations[5] (Tromsø) → routes[0]: Value error, legs do not join: "
        "Luleå–Narvik is followed by Kiruna–Tromsø",
    ),
    (
        serves_without_a_leg,
        "climate.yml: destinations[5] (Tromsø) → routes[0]: Value error, serves car but has no "
        "car leg",
    ),
    (
        starts_elsewhere,
        "climate.yml: (top level): Value error, destinations[1] (Oulu) → routes[0]: starts at "
        "Boden, not at Luleå",
    ),
    (
        ferry_without_hours,
        "climate.yml: crossings[4] (Stockholm–Tallinn) → legs[1]: Value error, the ferry leg "
        "Stockholm–Tallinn needs its hours",
    ),
]


@pytest.mark.parametrize(("edit", "problem"), ROUTE_PROBLEMS)
def test_invalid_route_data_is_reported_with_file_and_entry(
    tmp_path: Path, edit: Any, problem: str
) -> None:
    with pytest.raises(RuleSetError) as error:
        load_ruleset(broken_copy(tmp_path, "climate.yml", edit))
    assert any(p.startswith(problem) for p in error.value.problems), error.value.problems


def test_rules_check_reports_an_unsourced_route(tmp_path: Path) -> None:
    broken = broken_copy(tmp_path, "climate.yml", unsourced)
    run = subprocess.run(
        [sys.executable, "-m", "tripcheck", "rules", "check", str(broken)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1
    assert "climate.yml: destinations[5] (Tromsø) → routes[0] → source: Field required" in (
        run.stderr
    )


def test_every_route_and_crossing_is_sourced(data: ClimateData) -> None:
    routes = [*data.crossings, *(r for d in data.destinations for r in d.routes)]
    assert routes
    for route in routes:
        assert route.source and route.year >= 2024
        assert all(leg.km > 0 for leg in route.legs)


def test_places_the_route_data_names_exist_in_geonames(
    place_index: PlaceIndex, data: ClimateData
) -> None:
    for known in data.feasibility.no_rail_places:
        found = place_index.by_name(known.name, known.country_code)
        assert found is not None and found.geonameid == known.geonameid, known.name
    for crossing in data.crossings:
        port = crossing.arrival
        found = place_index.by_name(port.name)
        assert found is not None, port.name
        assert (found.latitude, found.longitude) == pytest.approx(
            (port.latitude, port.longitude), abs=1e-3
        ), port.name
