"""Climate estimates (rules/climate.py, rules/data/climate.yml).

Expected figures are worked out by hand from TRAVEL_FACTS.md, with the arithmetic in a
comment; the distances in them are the reference table's rounded kilometres, so they are
compared with a tolerance of 0.5 %.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from rules.climate import (
    ClimateData,
    Factor,
    estimate,
    great_circle_km,
)
from rules.loader import DEFAULT_DIR, load_ruleset
from rules.places import Place, PlaceIndex

HAND = 0.005  # relative tolerance for hand-computed figures on rounded distances


CLIMATE_YML = DEFAULT_DIR / "climate.yml"


@pytest.fixture(scope="module")
def index(place_index: PlaceIndex) -> PlaceIndex:
    return place_index


@pytest.fixture(scope="module")
def data() -> ClimateData:
    return load_ruleset().climate


@pytest.fixture(scope="module")
def lulea(index: PlaceIndex) -> Place:
    place = index.by_name("Luleå", "SE")
    assert place is not None
    return place


def place(index: PlaceIndex, text: str) -> Place:
    match = index.resolve(text)
    assert match.place is not None, (text, match)
    return match.place


# TRAVEL_FACTS.md, "Places": the place as written there, GeoNames lat/lon, km from Luleå.
REFERENCE = [
    ("Luleå", 65.58415, 22.15465, 0),
    ("Oulu (Uleåborg)", 65.01236, 25.46816, 167),
    ("Kemi", 65.73641, 24.56371, 112),
    ("Tornio", 65.84811, 24.14662, 96),
    ("Haparanda", 65.83549, 24.13676, 95),
    ("Tromsø", 69.6489, 18.95508, 472),
    ("Bodø", 67.28267, 14.37513, 394),
    ("Stockholm", 59.32938, 18.06871, 726),
    ("Brussels", 50.85045, 4.34878, 1927),
    ("Bologna", 44.49381, 11.33875, 2436),
    ("Gdańsk", 54.35227, 18.64912, 1264),
    ("Novéant-sur-Moselle", 49.02366, 6.04795, 2066),
    ("Santa Lucía de Tirajana", 27.91174, -15.54071, 4930),
    ("Zenica", 44.20169, 17.90397, 2392),
    ("Puerto Cabezas (Bilwi)", 14.03507, -83.38882, 9284),
    ("San Jose, California", 37.33939, -121.89496, 8158),
]


@pytest.mark.parametrize(("text", "lat", "lon", "km"), REFERENCE)
def test_reference_distances_from_lulea_within_one_percent(
    index: PlaceIndex, lulea: Place, text: str, lat: float, lon: float, km: float
) -> None:
    destination = place(index, text)
    assert (destination.latitude, destination.longitude) == pytest.approx((lat, lon), abs=1e-4)
    distance = great_circle_km(
        lulea.latitude, lulea.longitude, destination.latitude, destination.longitude
    )
    assert distance == pytest.approx(km, rel=0.01, abs=0.5)


def test_great_circle_is_symmetric_and_zero_on_the_spot() -> None:
    assert great_circle_km(65.58, 22.15, 65.58, 22.15) == 0
    there = great_circle_km(65.58415, 22.15465, 59.32938, 18.06871)
    back = great_circle_km(59.32938, 18.06871, 65.58415, 22.15465)
    assert there == pytest.approx(back)
    # A quarter of a meridian: 2π × 6371.0088 / 4 = 10007.5 km.
    assert great_circle_km(0, 0, 90, 0) == pytest.approx(10007.5, abs=0.1)


def test_stockholm_flight_against_the_night_train(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Stockholm"), 1, "flight", data)
    assert result.distance_km == pytest.approx(726, rel=HAND)
    assert result.flight_band == "domestic"  # 726 km < 800 km
    # Flight, domestic band: 726 km × 0.27257 kg/km × 2 (round trip) = 395.8 kg.
    assert result.planned_kg == pytest.approx(395.8, rel=HAND)
    assert result.avoided_kg() == result.planned_kg
    # Night train on the known rail route: 1180 km × 0.010 kg/km × 2 = 23.6 kg.
    assert result.alternatives["train"] == 23.6
    assert result.route_km["train"] == 1180
    # 12.5 h is over the 8 h threshold, but an overnight train makes it reasonable.
    assert result.hours["train"] == 12.5
    assert result.lowest_reasonable_mode == "train"
    # Saving: 395.8 − 23.6 = 372.2 kg.
    saving = result.saving_kg()
    assert saving is not None and saving == pytest.approx(372.2, rel=HAND)
    assert result.alternatives["ferry"] is None  # no ferry within Sweden's mainland


def test_oulu_by_car_shares_one_car_among_four(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Oulu"), 4, "car", data)
    assert result.cars == 1
    # One petrol car: 167 km × 1.3 (route factor) × 0.167 kg/vehicle-km × 2 = 72.5 kg,
    # for the whole party, not per traveller.
    assert result.planned_kg == pytest.approx(72.5, rel=HAND)
    # By public transport, the listed legs: train Luleå–Haparanda 124 km and Kemi–Oulu 118 km
    # at the Nordic 0.010, bus Haparanda–Kemi 29 km at 0.027:
    # (242 × 0.010 + 29 × 0.027) × 4 travellers × 2 = 25.6 kg, for train and bus alike.
    assert result.alternatives["train"] == result.alternatives["bus"] == 25.6
    assert result.hours["train"] == 5.0  # 4.5–5.5 h, from the data
    assert result.lowest_reasonable_mode == "train"


def test_six_travellers_need_two_cars(index: PlaceIndex, lulea: Place, data: ClimateData) -> None:
    result = estimate(lulea, place(index, "Oulu"), 6, "car", data)
    assert result.cars == 2
    # Two cars: 167 × 1.3 × 0.167 × 2 cars × 2 = 145.0 kg.
    assert result.planned_kg == pytest.approx(145.0, rel=HAND)


def test_santa_lucia_has_no_surface_alternative(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Santa Lucía de Tirajana"), 1, "flight", data)
    assert result.flight_band == "long_haul"  # 4930 km > 3700 km
    # Long-haul: 4930 km × 0.26128 kg/km × 2 = 2576.2 kg.
    assert result.planned_kg == pytest.approx(2576.2, rel=HAND)
    for mode in ("train", "bus", "car", "ferry"):
        assert result.alternatives[mode] is None
        assert result.hours[mode] is None
    assert result.lowest_reasonable_mode == "flight"
    assert result.saving_kg() is None


def test_tokyo_only_by_air(index: PlaceIndex, lulea: Place, data: ClimateData) -> None:
    result = estimate(lulea, place(index, "Tokyo"), 2, "train", data)
    # Two travellers, long-haul: 7552 km × 0.26128 kg/km × 2 travellers × 2 = 7892.4 kg.
    assert result.alternatives["flight"] == pytest.approx(7892.4, rel=HAND)
    assert {m for m, kg in result.alternatives.items() if kg is not None} == {"flight"}
    assert result.planned_kg is None  # the planned train is infeasible
    assert result.avoided_kg() is None
    assert result.lowest_reasonable_mode == "flight"


def test_narvik_uses_the_known_rail_distance(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Narvik"), 1, "train", data)
    # Malmbanan: 473 km × 0.010 kg/km × 2 = 9.46 → 9.5 kg (not 378 × 1.3).
    assert result.planned_kg == 9.5
    assert result.hours["train"] == 6.5
    assert result.lowest_reasonable_mode == "train"
    assert result.saving_kg() is None  # already the lowest


def test_long_surface_trip_without_night_train_is_not_reasonable(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Bodø"), 1, "flight", data)
    # Train to Narvik + bus, about 14–16 h: it exists, but over 13 h and not overnight.
    assert result.hours["train"] == 15.0
    assert result.alternatives["train"] is not None
    assert result.reasonable["train"] is False
    # The car on 394 km × 1.3 at 80 km/h = 6.4 h is reasonable and emits less than the flight:
    # 512.2 km × 0.167 × 2 = 171.1 kg against 394 × 0.27257 × 2 = 214.8 kg.
    assert result.hours["car"] == pytest.approx(6.4, abs=0.1)
    assert result.lowest_reasonable_mode == "car"


def test_train_abroad_uses_the_average_factor(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    result = estimate(lulea, place(index, "Brussels"), 1, "flight", data)
    # 1927 km × 1.3 × 0.037 kg/km × 2 = 185.4 kg; bus 1927 × 1.3 × 0.027 × 2 = 135.3 kg.
    assert result.alternatives["train"] == pytest.approx(185.4, rel=HAND)
    assert result.alternatives["bus"] == pytest.approx(135.3, rel=HAND)
    # Short-haul flight: 1927 × 0.18592 × 2 = 716.5 kg.
    assert result.planned_kg == pytest.approx(716.5, rel=HAND)
    assert result.flight_band == "short_haul"


def test_ferry_only_where_listed(index: PlaceIndex, lulea: Place, data: ClimateData) -> None:
    tallinn = estimate(lulea, place(index, "Tallinn"), 1, "ferry", data)
    # Night train to Stockholm, then the crossing:
    # (1180 km × 0.010 + 379 km × 0.01871) × 2 = 37.8 kg.
    assert tallinn.planned_kg == 37.8
    visby = estimate(lulea, place(index, "Visby"), 1, "flight", data)
    assert visby.alternatives["ferry"] is not None  # Gotland: ferry only
    assert visby.alternatives["train"] is None
    reykjavik = estimate(lulea, place(index, "Reykjavik"), 1, "flight", data)
    assert reykjavik.alternatives["ferry"] is None
    assert reykjavik.alternatives["car"] is None


def test_route_data_applies_only_from_the_data_origin(index: PlaceIndex, data: ClimateData) -> None:
    oulu = place(index, "Oulu")
    result = estimate(oulu, place(index, "Stockholm"), 1, "train", data)
    assert result.route_km["train"] == pytest.approx(result.distance_km * 1.3, abs=0.1)
    assert result.hours["train"] != 12.5


def test_flight_band_limits(data: ClimateData) -> None:
    assert data.flight.band(799.9)[0] == "domestic"
    assert data.flight.band(800)[0] == "short_haul"
    assert data.flight.band(3700)[0] == "short_haul"
    assert data.flight.band(3700.1)[0] == "long_haul"


def test_car_count(data: ClimateData) -> None:
    assert [data.car.cars(n) for n in (1, 5, 6, 10, 11)] == [1, 1, 2, 2, 3]


@pytest.mark.parametrize(("travellers", "mode"), [(0, "flight"), (1, "rocket"), (1, "")])
def test_rejects_bad_input(
    index: PlaceIndex, lulea: Place, data: ClimateData, travellers: int, mode: str
) -> None:
    with pytest.raises(ValueError):
        estimate(lulea, place(index, "Oulu"), travellers, mode, data)


def test_every_factor_is_sourced(data: ClimateData) -> None:
    factors: list[Factor] = [
        data.flight.domestic,
        data.flight.short_haul,
        data.flight.long_haul,
        data.train.nordic,
        data.train.abroad,
        data.bus,
        data.ferry,
        *data.car.per_vehicle_km.values(),
        data.surface.route_factor,
    ]
    for factor in factors:
        assert factor.source and factor.year >= 2024
    assert data.flight.domestic.value == 0.27257
    assert data.car.factor.value == 0.167  # petrol is the default car
    assert data.train.nordic_countries == ("SE", "NO", "FI", "DK")


def test_data_places_exist_in_geonames(index: PlaceIndex, data: ClimateData) -> None:
    origin = index.by_name(data.origin.name, data.origin.country_code)
    assert origin is not None and origin.geonameid == data.origin.geonameid
    for destination in data.destinations:
        found = index.by_name(destination.name, destination.country_code)
        assert found is not None and found.geonameid == destination.geonameid, destination.name


def test_an_estimate_is_remembered_per_data_set_and_inputs(
    index: PlaceIndex, lulea: Place, data: ClimateData
) -> None:
    """The same trip on the same data is one estimate; other data or inputs, another."""
    stockholm = place(index, "Stockholm")
    first = estimate(lulea, stockholm, 2, "flight", data)
    assert estimate(lulea, stockholm, 2, "flight", data) is first
    assert estimate(lulea, stockholm, 3, "flight", data).planned_kg != first.planned_kg
    assert estimate(lulea, stockholm, 2, "train", data).planned_mode == "train"
    raw = raw_data()
    raw["flight"]["domestic"]["value"] *= 2
    doubled = estimate(lulea, stockholm, 2, "flight", ClimateData.model_validate(raw))
    assert doubled.planned_kg == pytest.approx(2 * (first.planned_kg or 0), rel=HAND)


# ----------------------------------------------------------------------- data validation


def raw_data() -> dict[str, Any]:
    loaded = yaml.safe_load(CLIMATE_YML.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_a_factor_without_source_is_rejected() -> None:
    raw = raw_data()
    del raw["ferry"]["source"]
    with pytest.raises(ValidationError, match="source"):
        ClimateData.model_validate(raw)


def test_a_factor_without_year_is_rejected() -> None:
    raw = raw_data()
    del raw["flight"]["long_haul"]["year"]
    with pytest.raises(ValidationError, match="year"):
        ClimateData.model_validate(raw)


def test_an_empty_source_is_rejected() -> None:
    raw = raw_data()
    raw["car"]["per_vehicle_km"]["petrol"]["source"] = ""
    with pytest.raises(ValidationError):
        ClimateData.model_validate(raw)


def test_unknown_keys_and_bad_values_are_rejected() -> None:
    raw = raw_data()
    raw["bus"]["vlaue"] = 0.027
    with pytest.raises(ValidationError, match="vlaue"):
        ClimateData.model_validate(raw)
    raw = raw_data()
    raw["train"]["nordic"]["value"] = -0.01
    with pytest.raises(ValidationError):
        ClimateData.model_validate(raw)
    raw = raw_data()
    raw["car"]["default_fuel"] = "hydrogen"
    with pytest.raises(ValidationError, match="hydrogen"):
        ClimateData.model_validate(raw)


def test_unquoted_norway_is_caught(tmp_path: Path) -> None:
    text = CLIMATE_YML.read_text(encoding="utf-8")
    # YAML 1.1 reads a bare NO as false.
    path = tmp_path / "climate.yml"
    path.write_text(text.replace('[SE, "NO", FI, DK]', "[SE, NO, FI, DK]"), encoding="utf-8")
    with pytest.raises(ValidationError):
        ClimateData.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
