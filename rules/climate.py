"""Climate estimates for a trip: distance, CO2e per travel mode and the lower-carbon option.

The figures live in `rules/data/climate.yml` (validated by `ClimateData`); `estimate()` is
pure. All kilograms are for the ROUND TRIP and the whole party, rounded to 0.1 kg; hours
are one way, door to door.

Rules, all driven by the data:
- flight: great-circle km × the band's factor (domestic / short-haul / long-haul by
  great-circle distance) × travellers; always feasible.
- train, bus, ferry: route km × factor × travellers; route km is a known route distance
  from the origin where the data has one, else route_factor × great-circle km. The train
  factor is the Nordic one when the destination country is Nordic, else "abroad".
- car: route km × the default fuel's per-vehicle factor × ceil(travellers / max occupancy).
- train, bus and car are infeasible to other continents and to islands across open sea;
  ferry is feasible only to the countries and regions listed for it.
- hours: a typical time from the data where known, else route km / average surface speed;
  flight: overhead + great-circle km / average flight speed.
- a surface mode is reasonable when its hours are within the threshold, or it is a train
  with an overnight service; a flight is always reasonable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.places import Place

__all__ = [
    "DEFAULT_DATA_PATH",
    "EARTH_RADIUS_KM",
    "MODES",
    "SURFACE_MODES",
    "CarData",
    "ClimateData",
    "ClimateEstimate",
    "Destination",
    "Factor",
    "FeasibilityData",
    "FlightBand",
    "FlightData",
    "Mode",
    "Origin",
    "Region",
    "SurfaceData",
    "SurfaceMode",
    "TrainData",
    "estimate",
    "great_circle_km",
    "load_climate_data",
]

DEFAULT_DATA_PATH = Path(__file__).parent / "data" / "climate.yml"
# Mean earth radius (IUGG); haversine on it is within 0.5 % of WGS84 geodesics.
EARTH_RADIUS_KM = 6371.0088

Mode = Literal["flight", "train", "bus", "car", "ferry"]
SurfaceMode = Literal["train", "bus", "car", "ferry"]
FlightBand = Literal["domestic", "short_haul", "long_haul"]
MODES: tuple[Mode, ...] = get_args(Mode)
SURFACE_MODES: tuple[SurfaceMode, ...] = get_args(SurfaceMode)
# Tie-break between equal emissions: prefer the mode listed first.
_PREFERENCE: tuple[Mode, ...] = ("train", "bus", "ferry", "car", "flight")

_CountryCode = str  # ISO 3166-1 alpha-2, upper case (validated by pattern where used)
_COUNTRY_PATTERN = r"^[A-Z]{2}$"


class _Data(BaseModel):
    # Unknown keys are errors, so a typo in the YAML is caught rather than ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(_Data):
    """A sourced figure: an emission factor or a parameter such as a threshold."""

    value: float = Field(gt=0)
    unit: str = Field(min_length=1)
    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)

    def cite(self) -> str:
        """Short citation for users: "<source> (<year>)"."""
        return f"{self.source} ({self.year})"


class Origin(_Data):
    """Where trips start; route data applies to trips from here (matched by GeoNames id)."""

    name: str = Field(min_length=1)
    country_code: str = Field(pattern=_COUNTRY_PATTERN)
    geonameid: int
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class FlightData(_Data):
    """Flight factors by band, band limits and a rough door-to-door time."""

    domestic_below_km: Factor
    long_haul_above_km: Factor
    domestic: Factor
    short_haul: Factor
    long_haul: Factor
    overhead_hours: Factor
    average_speed_kmh: Factor

    @model_validator(mode="after")
    def _bands_in_order(self) -> FlightData:
        if self.domestic_below_km.value > self.long_haul_above_km.value:
            raise ValueError("domestic_below_km must not exceed long_haul_above_km")
        return self

    def band(self, great_circle: float) -> tuple[FlightBand, Factor]:
        """The band name and factor for a great-circle distance (800 km is short-haul)."""
        if great_circle < self.domestic_below_km.value:
            return "domestic", self.domestic
        if great_circle <= self.long_haul_above_km.value:
            return "short_haul", self.short_haul
        return "long_haul", self.long_haul


class TrainData(_Data):
    """Train factors: Nordic (electric) when the destination country is Nordic, else abroad."""

    nordic_countries: tuple[str, ...] = Field(min_length=1)
    nordic: Factor
    abroad: Factor

    @model_validator(mode="after")
    def _codes(self) -> TrainData:
        _check_country_codes(self.nordic_countries)
        return self


class CarData(_Data):
    """Car factors per vehicle-km by fuel; the default fuel is the one estimated."""

    default_fuel: str
    per_vehicle_km: dict[str, Factor]
    max_occupancy: Factor

    @model_validator(mode="after")
    def _consistent(self) -> CarData:
        if self.default_fuel not in self.per_vehicle_km:
            raise ValueError(f"default_fuel {self.default_fuel!r} has no factor")
        if not self.max_occupancy.value.is_integer():
            raise ValueError("max_occupancy must be a whole number of travellers")
        return self

    @property
    def factor(self) -> Factor:
        """The per-vehicle-km factor of the default fuel."""
        return self.per_vehicle_km[self.default_fuel]

    def cars(self, travellers: int) -> int:
        """Cars a party needs: 6 travellers with 5 seats per car need 2."""
        return math.ceil(travellers / int(self.max_occupancy.value))


class SurfaceData(_Data):
    """Parameters for train, bus, car and ferry."""

    route_factor: Factor
    average_speed_kmh: Factor
    reasonable_max_hours: Factor


class Region(_Data):
    """A first-level region (GeoNames admin1 code) of a country."""

    country_code: str = Field(pattern=_COUNTRY_PATTERN)
    admin1: str = Field(min_length=1)
    name: str = Field(min_length=1)


class FeasibilityData(_Data):
    """Which modes can reach a place at all."""

    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    surface_continents: tuple[str, ...]
    surface_extra_countries: tuple[str, ...] = ()
    no_surface_countries: tuple[str, ...] = ()
    no_surface_regions: tuple[Region, ...] = ()
    ferry_countries: tuple[str, ...] = ()
    ferry_regions: tuple[Region, ...] = ()

    @model_validator(mode="after")
    def _codes(self) -> FeasibilityData:
        _check_country_codes(
            self.surface_extra_countries + self.no_surface_countries + self.ferry_countries
        )
        return self

    def surface_reachable(self, country_code: str, admin1: str, continent: str) -> bool:
        """Whether train, bus and car can reach a place."""
        if country_code in self.no_surface_countries or _in(
            self.no_surface_regions, country_code, admin1
        ):
            return False
        return continent in self.surface_continents or country_code in self.surface_extra_countries

    def ferry_reachable(self, country_code: str, admin1: str) -> bool:
        """Whether a ferry option is offered for a place."""
        return country_code in self.ferry_countries or _in(self.ferry_regions, country_code, admin1)


class Destination(_Data):
    """What is known about the route from the origin to one place."""

    name: str = Field(min_length=1)
    geonameid: int
    country_code: str = Field(pattern=_COUNTRY_PATTERN)
    route_km: dict[SurfaceMode, float] = Field(default_factory=dict)
    hours: dict[SurfaceMode, float] = Field(default_factory=dict)
    overnight_train: bool = False
    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)

    @model_validator(mode="after")
    def _positive(self) -> Destination:
        for label, values in (("route_km", self.route_km), ("hours", self.hours)):
            if any(v <= 0 for v in values.values()):
                raise ValueError(f"{label} must be positive")
        return self


class ClimateData(_Data):
    """Everything `estimate()` needs, as read from climate.yml."""

    version: str = Field(min_length=1)
    origin: Origin
    flight: FlightData
    train: TrainData
    bus: Factor
    ferry: Factor
    car: CarData
    surface: SurfaceData
    feasibility: FeasibilityData
    destinations: tuple[Destination, ...] = ()

    @model_validator(mode="after")
    def _unique_destinations(self) -> ClimateData:
        ids = [d.geonameid for d in self.destinations]
        if len(ids) != len(set(ids)):
            raise ValueError("a destination is listed twice")
        return self

    def destination(self, origin_id: int, destination_id: int) -> Destination | None:
        """Route data for a trip, only when it starts at the data's origin."""
        if origin_id != self.origin.geonameid:
            return None
        return next((d for d in self.destinations if d.geonameid == destination_id), None)


class ClimateEstimate(BaseModel, frozen=True):
    """CO2e of a trip by each mode, against meeting digitally (0 kg)."""

    distance_km: float  # one way, great circle, 0.1 km
    planned_mode: Mode
    planned_kg: float | None  # round trip, whole party; None when the planned mode is infeasible
    alternatives: dict[Mode, float | None]  # every mode -> round-trip kg, None where infeasible
    hours: dict[Mode, float | None]  # typical one-way door-to-door hours, None where infeasible
    lowest_reasonable_mode: Mode | None
    # For explaining the figures:
    flight_band: FlightBand
    route_km: dict[Mode, float | None]  # one-way km each estimate uses
    factors: dict[Mode, Factor]  # the factor used per feasible mode (car: per vehicle-km)
    cars: int  # cars the party needs for the car estimate
    travellers: int

    def avoided_kg(self) -> float | None:
        """What a digital meeting avoids: the planned trip's kg (None if infeasible)."""
        return self.planned_kg

    def saving_kg(self) -> float | None:
        """Kg the lowest reasonable mode saves against the planned one, when it saves any."""
        best = self.lowest_reasonable_mode
        if best is None or best == self.planned_mode or self.planned_kg is None:
            return None
        best_kg = self.alternatives[best]
        if best_kg is None or best_kg >= self.planned_kg:
            return None
        return round(self.planned_kg - best_kg, 1)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine on the mean earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    # min() guards against rounding pushing `a` just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def estimate(
    origin: Place,
    destination: Place,
    travellers: int,
    planned_mode: str,
    data: ClimateData,
) -> ClimateEstimate:
    """Estimate the round trip's CO2e for every mode and pick the lowest reasonable one."""
    if travellers < 1:
        raise ValueError(f"travellers must be at least 1, not {travellers}")
    if planned_mode not in MODES:
        raise ValueError(f"unknown travel mode {planned_mode!r}; expected one of {MODES}")
    planned = MODES[MODES.index(planned_mode)]  # narrows str to Mode

    distance = great_circle_km(
        origin.latitude, origin.longitude, destination.latitude, destination.longitude
    )
    known = data.destination(origin.geonameid, destination.geonameid)
    surface = data.surface
    feasibility = data.feasibility
    cars = data.car.cars(travellers)

    band, flight_factor = data.flight.band(distance)
    kg: dict[Mode, float | None] = {
        "flight": _round_trip(distance * flight_factor.value * travellers)
    }
    hours: dict[Mode, float | None] = {
        "flight": round(
            data.flight.overhead_hours.value + distance / data.flight.average_speed_kmh.value, 1
        )
    }
    route_km: dict[Mode, float | None] = {"flight": round(distance, 1)}
    factors: dict[Mode, Factor] = {"flight": flight_factor}

    by_land = feasibility.surface_reachable(
        destination.country_code, destination.admin1, destination.continent
    )
    by_ferry = feasibility.ferry_reachable(destination.country_code, destination.admin1)
    for mode in SURFACE_MODES:
        if not (by_ferry if mode == "ferry" else by_land):
            kg[mode] = hours[mode] = route_km[mode] = None
            continue
        km = (known.route_km.get(mode) if known else None) or distance * surface.route_factor.value
        factor, payers = _surface_factor(mode, destination.country_code, travellers, cars, data)
        kg[mode] = _round_trip(km * factor.value * payers)
        typical = known.hours.get(mode) if known else None
        hours[mode] = round(typical or km / surface.average_speed_kmh.value, 1)
        route_km[mode] = round(km, 1)
        factors[mode] = factor

    def reasonable(mode: Mode) -> bool:
        if mode == "flight":
            return True
        if mode == "train" and known is not None and known.overnight_train:
            return True
        h = hours[mode]
        return h is not None and h <= surface.reasonable_max_hours.value

    options = [m for m in _PREFERENCE if kg[m] is not None and reasonable(m)]
    lowest = min(options, key=lambda m: (kg[m], _PREFERENCE.index(m)), default=None)
    return ClimateEstimate(
        distance_km=round(distance, 1),
        planned_mode=planned,
        planned_kg=kg[planned],
        alternatives={m: kg[m] for m in MODES},
        hours={m: hours[m] for m in MODES},
        lowest_reasonable_mode=lowest,
        flight_band=band,
        route_km={m: route_km[m] for m in MODES},
        factors=factors,
        cars=cars,
        travellers=travellers,
    )


def _surface_factor(
    mode: SurfaceMode, country_code: str, travellers: int, cars: int, data: ClimateData
) -> tuple[Factor, int]:
    """The factor for a surface mode and what it is multiplied by (travellers or cars)."""
    if mode == "train":
        nordic = country_code in data.train.nordic_countries
        return (data.train.nordic if nordic else data.train.abroad), travellers
    if mode == "bus":
        return data.bus, travellers
    if mode == "ferry":
        return data.ferry, travellers
    # A car's emissions are per vehicle, shared by up to max_occupancy travellers.
    return data.car.factor, cars


def _round_trip(one_way_kg: float) -> float:
    return round(2 * one_way_kg, 1)


def load_climate_data(path: Path = DEFAULT_DATA_PATH) -> ClimateData:
    """Read and validate climate.yml; raises pydantic.ValidationError on bad data."""
    with path.open(encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return ClimateData.model_validate(raw)


def _in(regions: tuple[Region, ...], country_code: str, admin1: str) -> bool:
    return any(r.country_code == country_code and r.admin1 == admin1 for r in regions)


def _check_country_codes(codes: tuple[_CountryCode, ...]) -> None:
    bad = [c for c in codes if not (isinstance(c, str) and len(c) == 2 and c.isupper())]
    if bad:
        raise ValueError(f"not ISO country codes: {bad} (quote NO in YAML)")
