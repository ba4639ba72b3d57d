"""Climate estimates for a trip: routes, CO2e per travel mode and the lower-carbon option.

The figures live in `rules/data/climate.yml` (validated by `ClimateData`); `estimate()` is
pure. All kilograms are for the ROUND TRIP and the whole party, rounded to 0.1 kg; hours
are one way, door to door.

Rules, all driven by the data (POLICY.md §9.2):
- flight: great-circle km × the band's factor (domestic / short-haul / long-haul by
  great-circle distance) × travellers; always available.
- a surface mode exists only along a route: a route listed for the destination (its legs,
  e.g. train to Narvik + bus to Tromsø, and its sourced hours), else the generic one leg
  of route_factor × great-circle km (train, bus, car on land only, train only where rail
  reaches), and a ferry only through a listed crossing that reaches the place.
- each leg's km × its mode's factor (train: Nordic where the leg ends in a Nordic country,
  else abroad; car: per vehicle × cars needed) × travellers, summed over the legs.
- hours: the route's sourced hours where listed, else the legs' hours, a leg without hours
  taking km / its mode's average speed; flight: overhead + great-circle km / flight speed.
- reasonable: the mode exists and takes at most `reasonable_max_hours` one way, or is an
  overnight train; a flight is always reasonable; the planned mode, if it exists, is too.
- lowest reasonable: the reasonable mode emitting least, so never more than the planned one;
  `lower_carbon` names it with its hours and saving when it emits less than the planned.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rules.places import Place

__all__ = [
    "EARTH_RADIUS_KM",
    "MODES",
    "SURFACE_MODES",
    "CarData",
    "ClimateData",
    "ClimateEstimate",
    "Crossing",
    "Destination",
    "Detour",
    "Factor",
    "FeasibilityData",
    "FlightBand",
    "FlightData",
    "HoursRange",
    "KnownPlace",
    "Leg",
    "LowerCarbon",
    "Mode",
    "Origin",
    "Port",
    "Region",
    "Route",
    "RouteEstimate",
    "SurfaceData",
    "SurfaceMode",
    "TrainData",
    "Unavailable",
    "estimate",
    "great_circle_km",
    "route_for",
    "unavailable_reason",
]

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


class Detour(_Data):
    """Countries the land route reaches only the long way round (the Baltic states)."""

    name: str = Field(min_length=1)
    countries: tuple[str, ...] = Field(min_length=1)
    route_factor: Factor

    @model_validator(mode="after")
    def _codes(self) -> Detour:
        _check_country_codes(self.countries)
        return self


class SurfaceData(_Data):
    """Parameters for train, bus, car and ferry routes."""

    route_factor: Factor
    detours: tuple[Detour, ...] = ()
    # Average door-to-door speed per mode on the route km, for legs without listed hours.
    speed_kmh: dict[SurfaceMode, Factor]
    reasonable_max_hours: Factor

    @model_validator(mode="after")
    def _speeds_for_land_modes(self) -> SurfaceData:
        missing = [m for m in ("train", "bus", "car") if m not in self.speed_kmh]
        if missing:
            raise ValueError(f"speed_kmh needs a speed for {missing}")
        return self

    def land_route_factor(self, country_code: str) -> float:
        """Route km per great-circle km over land to a country."""
        detour = next((d for d in self.detours if country_code in d.countries), None)
        return (detour.route_factor if detour is not None else self.route_factor).value


class Region(_Data):
    """A first-level region (GeoNames admin1 code) of a country."""

    country_code: str = Field(pattern=_COUNTRY_PATTERN)
    admin1: str = Field(min_length=1)
    name: str = Field(min_length=1)


class KnownPlace(_Data):
    """A GeoNames place named in the data."""

    name: str = Field(min_length=1)
    geonameid: int
    country_code: str = Field(pattern=_COUNTRY_PATTERN)


class FeasibilityData(_Data):
    """Where the generic land route reaches: train, bus and car; train only where rail does."""

    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)
    surface_continents: tuple[str, ...]
    surface_extra_countries: tuple[str, ...] = ()
    no_surface_countries: tuple[str, ...] = ()
    no_surface_regions: tuple[Region, ...] = ()
    no_rail_regions: tuple[Region, ...] = ()
    no_rail_places: tuple[KnownPlace, ...] = ()

    @model_validator(mode="after")
    def _codes(self) -> FeasibilityData:
        _check_country_codes(self.surface_extra_countries + self.no_surface_countries)
        return self

    def surface_reachable(self, country_code: str, admin1: str, continent: str) -> bool:
        """Whether train, bus and car can reach a place over land."""
        if country_code in self.no_surface_countries or _in(
            self.no_surface_regions, country_code, admin1
        ):
            return False
        return continent in self.surface_continents or country_code in self.surface_extra_countries

    def rail_reaches(self, place: Place) -> bool:
        """Whether rail reaches a place that land travel reaches."""
        if any(p.geonameid == place.geonameid for p in self.no_rail_places):
            return False
        return not _in(self.no_rail_regions, place.country_code, place.admin1)


class HoursRange(_Data):
    """Typical one-way hours as a source gives them: "about 11–13 h" is low 11, high 13."""

    low: float = Field(gt=0)
    high: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> HoursRange:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    @property
    def typical(self) -> float:
        """The middle of the range."""
        return (self.low + self.high) / 2


class Leg(_Data):
    """One stretch of a route by one mode, e.g. the bus from Narvik to Tromsø."""

    mode: SurfaceMode
    start: str = Field(min_length=1)
    end: str = Field(min_length=1)
    country_code: str = Field(pattern=_COUNTRY_PATTERN)  # where the leg ends (train factor)
    km: float = Field(gt=0)
    hours: float | None = Field(default=None, gt=0)  # None: km / the mode's average speed

    @model_validator(mode="after")
    def _ferry_hours(self) -> Leg:
        # A crossing's time is its timetable's, not a speed's.
        if self.mode == "ferry" and self.hours is None:
            raise ValueError(f"the ferry leg {self.start}–{self.end} needs its hours")
        return self


class Route(_Data):
    """A way from the origin to a place: its legs in order, the modes it serves, its hours."""

    # The planned modes this route answers: train + bus to Tromsø serves "train" and "bus".
    modes: tuple[SurfaceMode, ...] = Field(min_length=1)
    legs: tuple[Leg, ...] = Field(min_length=1)
    hours: HoursRange | None = None  # the whole route's sourced time; None: sum of the legs
    overnight_train: bool = False
    source: str = Field(min_length=1)
    year: int = Field(ge=1990, le=2100)

    @model_validator(mode="after")
    def _consistent(self) -> Route:
        for before, after in zip(self.legs, self.legs[1:], strict=False):
            if after.start != before.end:
                raise ValueError(
                    f"legs do not join: {before.start}–{before.end} is followed by "
                    f"{after.start}–{after.end}"
                )
        used = {leg.mode for leg in self.legs}
        for mode in self.modes:
            if mode not in used:
                raise ValueError(f"serves {mode} but has no {mode} leg")
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("a mode is listed twice")
        if self.overnight_train and "train" not in used:
            raise ValueError("overnight_train without a train leg")
        return self

    @property
    def start(self) -> str:
        return self.legs[0].start

    @property
    def end(self) -> str:
        return self.legs[-1].end

    @property
    def km(self) -> float:
        """One-way km over all legs."""
        return sum(leg.km for leg in self.legs)


class Port(_Data):
    """Where a crossing lands, for the onward leg to a place beyond it."""

    name: str = Field(min_length=1)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Crossing(Route):
    """A ferry crossing from the origin: the legs to and across the sea, and what it reaches."""

    name: str = Field(min_length=1)
    modes: tuple[SurfaceMode, ...] = ("ferry",)
    arrival: Port
    reaches_countries: tuple[str, ...] = ()
    reaches_regions: tuple[Region, ...] = ()

    @model_validator(mode="after")
    def _a_ferry_to_somewhere(self) -> Crossing:
        if self.modes != ("ferry",):
            raise ValueError("a crossing serves only ferry")
        if self.end != self.arrival.name:
            raise ValueError(f"the last leg ends at {self.end}, not at {self.arrival.name}")
        if not (self.reaches_countries or self.reaches_regions):
            raise ValueError("a crossing must reach a country or a region")
        _check_country_codes(self.reaches_countries)
        return self

    def reaches(self, country_code: str, admin1: str) -> bool:
        """Whether this crossing is the way to a place."""
        return country_code in self.reaches_countries or _in(
            self.reaches_regions, country_code, admin1
        )


class Destination(_Data):
    """Routes listed for one place; they replace the generic route for the modes they serve."""

    name: str = Field(min_length=1)
    geonameid: int
    country_code: str = Field(pattern=_COUNTRY_PATTERN)
    routes: tuple[Route, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _routes_end_here(self) -> Destination:
        served: list[SurfaceMode] = []
        for index, route in enumerate(self.routes):
            if route.end != self.name:
                raise ValueError(f"routes[{index}] ends at {route.end}, not at {self.name}")
            served += route.modes
        if len(set(served)) != len(served):
            raise ValueError("two routes serve the same mode")
        return self

    def route(self, mode: SurfaceMode) -> Route | None:
        """The listed route serving `mode`, if any."""
        return next((r for r in self.routes if mode in r.modes), None)


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
    crossings: tuple[Crossing, ...] = ()
    destinations: tuple[Destination, ...] = ()

    @model_validator(mode="after")
    def _routes_start_at_the_origin(self) -> ClimateData:
        ids = [d.geonameid for d in self.destinations]
        if len(ids) != len(set(ids)):
            raise ValueError("a destination is listed twice")
        # Named here rather than in Route: only the whole file knows the origin.
        starts = [(f"crossings[{i}] ({c.name})", c.start) for i, c in enumerate(self.crossings)]
        starts += [
            (f"destinations[{i}] ({d.name}) → routes[{j}]", r.start)
            for i, d in enumerate(self.destinations)
            for j, r in enumerate(d.routes)
        ]
        for entry, start in starts:
            if start != self.origin.name:
                raise ValueError(f"{entry}: starts at {start}, not at {self.origin.name}")
        return self

    def destination(self, origin_id: int, destination_id: int) -> Destination | None:
        """Route data for a trip, only when it starts at the data's origin."""
        if origin_id != self.origin.geonameid:
            return None
        return next((d for d in self.destinations if d.geonameid == destination_id), None)

    def crossing(self, country_code: str, admin1: str) -> Crossing | None:
        """The first listed crossing that reaches a place, if any."""
        return next((c for c in self.crossings if c.reaches(country_code, admin1)), None)


# Why a surface mode cannot take a trip: the place lies across open sea or on another
# continent (train, bus, car); no railway reaches it; no listed crossing reaches it (ferry);
# crossings are only known from the data's origin.
Unavailable = Literal["across_sea", "no_rail", "no_crossing", "not_from_origin"]


class RouteEstimate(BaseModel, frozen=True):
    """A surface mode's route for one trip: its legs, one-way km and hours."""

    legs: tuple[Leg, ...]
    modes: tuple[SurfaceMode, ...]  # the planned modes this route serves (shown "tåg + buss")
    km: float  # one way, 0.1 km
    hours: float  # typical one way, 0.1 h
    hours_low: float
    hours_high: float
    overnight_train: bool
    source: str


class LowerCarbon(BaseModel, frozen=True):
    """A reasonable mode emitting less than the planned one (advisory `lower_carbon_mode`)."""

    mode: Mode
    kg: float  # round trip, whole party
    hours: float  # typical one way
    saving_kg: float  # planned kg − kg
    route: RouteEstimate | None  # None for a flight


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
    factors: dict[Mode, Factor]  # the main factor per feasible mode (car: per vehicle-km)
    cars: int  # cars the party needs for the car estimate
    travellers: int
    # POLICY.md §9.2: the routes that exist, which modes are reasonable, the lower-carbon one.
    routes: dict[SurfaceMode, RouteEstimate] = Field(default_factory=dict)  # existing only
    reasonable: dict[Mode, bool] = Field(default_factory=dict)
    unavailable: dict[SurfaceMode, Unavailable] = Field(default_factory=dict)
    lower_carbon: LowerCarbon | None = None

    @property
    def planned_available(self) -> bool:
        """Whether the planned mode exists for this trip (a train to Reykjavík does not)."""
        return self.planned_kg is not None

    def avoided_kg(self) -> float | None:
        """What a digital meeting avoids: the planned trip's kg (None if infeasible)."""
        return self.planned_kg

    def saving_kg(self) -> float | None:
        """Kg the lower-carbon reasonable mode saves against the planned one, if any."""
        return self.lower_carbon.saving_kg if self.lower_carbon is not None else None


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km (haversine on the mean earth radius)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    # min() guards against rounding pushing `a` just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def unavailable_reason(
    origin: Place, destination: Place, mode: str, data: ClimateData
) -> Unavailable | None:
    """Why `mode` cannot take a trip from `origin` to `destination`; None when it can."""
    if mode == "flight":
        return None
    surface = _surface_mode(mode)
    known = data.destination(origin.geonameid, destination.geonameid)
    if known is not None and known.route(surface) is not None:
        return None
    feasibility = data.feasibility
    if surface == "ferry":
        # Crossings are listed from the data's origin; from anywhere else none is known.
        if origin.geonameid != data.origin.geonameid:
            return "not_from_origin"
        found = data.crossing(destination.country_code, destination.admin1)
        return None if found is not None else "no_crossing"
    if not feasibility.surface_reachable(
        destination.country_code, destination.admin1, destination.continent
    ):
        return "across_sea"
    if surface == "train" and not feasibility.rail_reaches(destination):
        return "no_rail"
    return None


def route_for(
    origin: Place, destination: Place, mode: str, data: ClimateData
) -> RouteEstimate | None:
    """The route a surface mode takes from `origin` to `destination`, or None if none exists."""
    surface = _surface_mode(mode)
    if unavailable_reason(origin, destination, surface, data) is not None:
        return None
    known = data.destination(origin.geonameid, destination.geonameid)
    listed = known.route(surface) if known is not None else None
    if listed is not None:
        return _route_estimate(listed, listed.legs, data)
    if surface == "ferry":
        crossing = data.crossing(destination.country_code, destination.admin1)
        assert crossing is not None  # unavailable_reason checked it
        return _route_estimate(crossing, crossing.legs + _onward(crossing, destination, data), data)
    distance = great_circle_km(
        origin.latitude, origin.longitude, destination.latitude, destination.longitude
    )
    # Computed, not read: model_construct skips the validation meant for the data file
    # (a trip to the origin itself has 0 km).
    leg = Leg.model_construct(
        mode=surface,
        start=origin.name,
        end=destination.name,
        country_code=destination.country_code,
        km=distance * data.surface.land_route_factor(destination.country_code),
        hours=None,
    )
    return _route_estimate(None, (leg,), data)


# Estimates made, per climate data set (by identity: the data is immutable, and kept here so
# its id is not reused): one check asks for its estimate several times (the echo after the
# mode, the motivation question, the save), each over several routes.
_EstimateKey = tuple[object, ...]
_ESTIMATES: dict[int, tuple[ClimateData, dict[_EstimateKey, ClimateEstimate]]] = {}
_DATA_SETS_KEPT = 4
_ESTIMATES_KEPT = 1024


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
    kept = _ESTIMATES.get(id(data))
    if kept is None or kept[0] is not data:
        if len(_ESTIMATES) >= _DATA_SETS_KEPT:
            del _ESTIMATES[next(iter(_ESTIMATES))]
        kept = _ESTIMATES[id(data)] = (data, {})
    estimates = kept[1]
    # The places' field values, not the places: comparing models is many times slower.
    key = (*origin.__dict__.values(), *destination.__dict__.values(), travellers, planned_mode)
    found = estimates.get(key)
    if found is None:
        if len(estimates) >= _ESTIMATES_KEPT:
            estimates.clear()
        found = estimates[key] = _estimate(origin, destination, travellers, planned_mode, data)
    return found


def _estimate(
    origin: Place, destination: Place, travellers: int, planned_mode: str, data: ClimateData
) -> ClimateEstimate:
    planned = _mode(planned_mode)
    distance = great_circle_km(
        origin.latitude, origin.longitude, destination.latitude, destination.longitude
    )
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
    routes: dict[SurfaceMode, RouteEstimate] = {}
    unavailable: dict[SurfaceMode, Unavailable] = {}
    for mode in SURFACE_MODES:
        route = route_for(origin, destination, mode, data)
        if route is None:
            kg[mode] = hours[mode] = route_km[mode] = None
            reason = unavailable_reason(origin, destination, mode, data)
            assert reason is not None
            unavailable[mode] = reason
            continue
        routes[mode] = route
        kg[mode] = _round_trip(sum(_leg_kg(leg, travellers, cars, data) for leg in route.legs))
        hours[mode] = route.hours
        route_km[mode] = route.km
        main = next((leg for leg in route.legs if leg.mode == mode), route.legs[0])
        factors[mode] = _leg_factor(main, data)

    max_hours = data.surface.reasonable_max_hours.value

    def is_reasonable(mode: Mode) -> bool:
        if kg[mode] is None:
            return False
        if mode == "flight" or mode == planned:
            return True
        route = routes[mode]
        return route.overnight_train or route.hours <= max_hours

    reasonable = {m: is_reasonable(m) for m in MODES}
    options = [m for m in _PREFERENCE if reasonable[m]]
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
        routes=routes,
        reasonable=reasonable,
        unavailable=unavailable,
        lower_carbon=_lower_carbon(planned, lowest, kg, hours, routes),
    )


def _lower_carbon(
    planned: Mode,
    lowest: Mode | None,
    kg: dict[Mode, float | None],
    hours: dict[Mode, float | None],
    routes: dict[SurfaceMode, RouteEstimate],
) -> LowerCarbon | None:
    """The lowest reasonable mode, when it emits less than an existing planned mode."""
    planned_kg = kg[planned]
    if lowest is None or lowest == planned or planned_kg is None:
        return None
    best_kg, best_hours = kg[lowest], hours[lowest]
    if best_kg is None or best_hours is None or best_kg >= planned_kg:
        return None
    route = routes.get(lowest) if lowest != "flight" else None
    return LowerCarbon(
        mode=lowest,
        kg=best_kg,
        hours=best_hours,
        saving_kg=round(planned_kg - best_kg, 1),
        route=route,
    )


def _route_estimate(
    listed: Route | None, legs: tuple[Leg, ...], data: ClimateData
) -> RouteEstimate:
    """Sums a route's legs. A listed route's own sourced hours replace its legs' hours; legs
    added beyond it (the train on from a port) add theirs."""

    def leg_hours(some: tuple[Leg, ...]) -> float:
        return sum(leg.hours or leg.km / _speed(leg.mode, data) for leg in some)

    own = len(listed.legs) if listed is not None else len(legs)
    extra = leg_hours(legs[own:])
    if listed is not None and listed.hours is not None:
        low, typical, high = listed.hours.low, listed.hours.typical, listed.hours.high
    else:
        low = typical = high = leg_hours(legs[:own])
    return RouteEstimate(
        legs=legs,
        modes=listed.modes if listed is not None else (legs[0].mode,),
        km=round(sum(leg.km for leg in legs), 1),
        hours=round(typical + extra, 1),
        hours_low=round(low + extra, 1),
        hours_high=round(high + extra, 1),
        overnight_train=listed.overnight_train if listed is not None else False,
        source=listed.source if listed is not None else data.surface.route_factor.source,
    )


def _onward(crossing: Crossing, destination: Place, data: ClimateData) -> tuple[Leg, ...]:
    """The train on from the crossing's port to a place beyond it (none at the port itself)."""
    port = crossing.arrival
    km = great_circle_km(port.latitude, port.longitude, destination.latitude, destination.longitude)
    if km == 0:  # the place is the port
        return ()
    # Computed, not read: model_construct skips the validation meant for the data file.
    leg = Leg.model_construct(
        mode="train",
        start=port.name,
        end=destination.name,
        country_code=destination.country_code,
        km=km * data.surface.route_factor.value,
        hours=None,
    )
    return (leg,)


def _speed(mode: SurfaceMode, data: ClimateData) -> float:
    speed = data.surface.speed_kmh.get(mode)
    if speed is None:
        # Only ferry has no speed, and every ferry leg has its hours (validated).
        raise ValueError(f"a {mode} leg needs hours: there is no average speed for {mode}")
    return speed.value


def _leg_factor(leg: Leg, data: ClimateData) -> Factor:
    if leg.mode == "train":
        nordic = leg.country_code in data.train.nordic_countries
        return data.train.nordic if nordic else data.train.abroad
    if leg.mode == "bus":
        return data.bus
    if leg.mode == "ferry":
        return data.ferry
    return data.car.factor


def _leg_kg(leg: Leg, travellers: int, cars: int, data: ClimateData) -> float:
    """One way: a car's emissions are per vehicle, shared by up to max_occupancy travellers."""
    payers = cars if leg.mode == "car" else travellers
    return leg.km * _leg_factor(leg, data).value * payers


def _round_trip(one_way_kg: float) -> float:
    return round(2 * one_way_kg, 1)


def _mode(mode: str) -> Mode:
    if mode not in MODES:
        raise ValueError(f"unknown travel mode {mode!r}; expected one of {MODES}")
    return MODES[MODES.index(mode)]  # narrows str to Mode


def _surface_mode(mode: str) -> SurfaceMode:
    checked = _mode(mode)
    if checked == "flight":
        raise ValueError("a flight has no surface route")
    return SURFACE_MODES[SURFACE_MODES.index(checked)]


def _in(regions: tuple[Region, ...], country_code: str, admin1: str) -> bool:
    return any(r.country_code == country_code and r.admin1 == admin1 for r in regions)


def _check_country_codes(codes: tuple[_CountryCode, ...]) -> None:
    bad = [c for c in codes if not (isinstance(c, str) and len(c) == 2 and c.isupper())]
    if bad:
        raise ValueError(f"not ISO country codes: {bad} (quote NO in YAML)")
