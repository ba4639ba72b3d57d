"""Climate figures for a check: its estimate, the record the log keeps, and how it is told;
whether a planned mode exists at all, and the refusal when it does not (POLICY.md §9.2)."""

from __future__ import annotations

from typing import Any

from rules.check import Destination
from rules.climate import (
    MODES,
    ClimateEstimate,
    Mode,
    RouteEstimate,
    Unavailable,
    estimate,
    great_circle_km,
    unavailable_reason,
)
from rules.models import Lang
from rules.places import Place
from rules.ruleset import RuleSet

# The order a comparison is told in: the digital meeting first, the flight last.
COMPARISON_ORDER: tuple[Mode, ...] = ("train", "bus", "car", "ferry", "flight")


def _place(destination: Destination) -> Place | None:
    if destination.latitude is None or destination.longitude is None or not destination.country:
        return None
    return Place(
        name=destination.name,
        country_code=destination.country,
        country=destination.country_name or destination.country,
        latitude=destination.latitude,
        longitude=destination.longitude,
        population=0,
        geonameid=destination.geonameid or 0,
        continent=destination.continent,
        admin1=destination.admin1,
    )


def _origin(rules: RuleSet) -> Place:
    origin = rules.climate.origin
    return Place(
        name=origin.name,
        country_code=origin.country_code,
        country=origin.country_code,
        latitude=origin.latitude,
        longitude=origin.longitude,
        population=0,
        geonameid=origin.geonameid,
        continent="EU",
        admin1="",
    )


def distance_km(destination: Destination | None, rules: RuleSet) -> float | None:
    """Great-circle km one way from the origin, when the place is known."""
    place = _place(destination) if destination is not None else None
    if place is None:
        return None
    origin = rules.climate.origin
    km = great_circle_km(origin.latitude, origin.longitude, place.latitude, place.longitude)
    return round(km, 1)


def estimate_for(
    destination: Destination | None, travellers: int | None, mode: str | None, rules: RuleSet
) -> ClimateEstimate | None:
    """The round trip's CO2e by every mode for the party, or None without place, party or mode."""
    place = _place(destination) if destination is not None else None
    if place is None or not travellers or mode not in MODES:
        return None
    return estimate(_origin(rules), place, travellers, str(mode), rules.climate)


def unavailable_reason_for(
    destination: Destination | None, mode: str, rules: RuleSet
) -> Unavailable | None:
    """Why `mode` cannot reach the place ("across_sea", "no_rail", "no_crossing"...); None when
    it can, or when the place is not known well enough to tell."""
    place = _place(destination) if destination is not None else None
    if place is None or mode not in MODES:
        return None
    return unavailable_reason(_origin(rules), place, mode, rules.climate)


def mode_available(destination: Destination | None, mode: str, rules: RuleSet) -> bool:
    """Whether a planned mode exists for the trip: no train to Reykjavík, no ferry to Oulu."""
    return unavailable_reason_for(destination, mode, rules) is None


def refusal_text(
    destination: Destination | None, mode: str, rules: RuleSet, lang: Lang
) -> str | None:
    """The reply to a planned mode that does not exist, asking again; None when it exists."""
    if destination is None or mode_available(destination, mode, rules):
        return None
    return rules.text(f"routes.unavailable.{mode}", lang, place=destination.name)


def co2_record(
    estimate: ClimateEstimate | None, destination: Destination | None, outcome: str, rules: RuleSet
) -> dict[str, Any]:
    """The machine-readable figures (batch rows, jsonl decisions, the log); null when unknown."""
    if estimate is None:
        return {
            "distance_km": distance_km(destination, rules),
            "planned_mode": None,
            "planned_kg": None,
            "alternatives": None,
            "hours": None,
            "lowest_reasonable_mode": None,
            "lowest_reasonable_kg": None,
            "avoided_kg": None,
            "lower_carbon": None,
        }
    lowest = estimate.lowest_reasonable_mode
    return {
        "distance_km": estimate.distance_km,
        "planned_mode": estimate.planned_mode,
        "planned_kg": estimate.planned_kg,
        "alternatives": dict(estimate.alternatives),
        "hours": dict(estimate.hours),
        "lowest_reasonable_mode": lowest,
        "lowest_reasonable_kg": estimate.alternatives[lowest] if lowest else None,
        "avoided_kg": estimate.avoided_kg() if outcome == "digital" else None,
        "lower_carbon": _lower_carbon_record(estimate),
    }


def _lower_carbon_record(estimate: ClimateEstimate) -> dict[str, Any] | None:
    better = estimate.lower_carbon
    if better is None:
        return None
    modes = list(better.route.modes) if better.route is not None else [better.mode]
    return {
        "mode": better.mode,
        "modes": modes,
        "kg": better.kg,
        "hours": better.hours,
        "saving_kg": better.saving_kg,
    }


def whole_number_text(value: float, lang: Lang) -> str:
    """A rounded number with grouped thousands: '1 058' in Swedish, '1,058' in English."""
    grouped = f"{round(value):,}"
    return grouped.replace(",", "\u00a0") if lang == "sv" else grouped


def kg_text(kg: float, lang: Lang) -> str:
    """Kilograms as people read them: whole kg, with a decimal only when small."""
    if kg < 10:
        text = f"{kg:.1f}"
        return text.replace(".", ",") if lang == "sv" else text
    return whole_number_text(kg, lang)


def hours_text(hours: float, lang: Lang) -> str:
    """Travel time to the half hour when short, to the hour when long: '4.5', '45'."""
    shown = f"{round(hours * 2) / 2:g}" if hours < 10 else f"{round(hours)}"
    return shown.replace(".", ",") if lang == "sv" else shown


def mode_name(mode: str, rules: RuleSet, lang: Lang) -> str:
    """A travel mode in running text: 'tåg', 'train'."""
    return rules.text(f"mode.{mode}", lang).lower()


def route_name(mode: Mode, route: RouteEstimate | None, rules: RuleSet, lang: Lang) -> str:
    """A mode as its route takes it, in running text: 'tåg + buss' to Tromsø, 'tåg' to Umeå."""
    modes = route.modes if route is not None else (mode,)
    return rules.text("routes.joined", lang).join(mode_name(m, rules, lang) for m in modes)


def lower_carbon_values(estimate: ClimateEstimate, rules: RuleSet, lang: Lang) -> dict[str, str]:
    """What the advisory `lower_carbon_mode` may name: alternative, hours, saving, planned;
    empty when no reasonable mode emits less than the planned one."""
    better = estimate.lower_carbon
    if better is None:
        return {}
    name = route_name(better.mode, better.route, rules, lang)
    return {
        "alternative": name[:1].upper() + name[1:],
        "hours": hours_text(better.hours, lang),
        "saving": kg_text(better.saving_kg, lang),
        "planned": mode_name(estimate.planned_mode, rules, lang),
    }


def lower_carbon_text(estimate: ClimateEstimate, rules: RuleSet, lang: Lang) -> str | None:
    """'Tåg + buss (ca 12 h enkel väg) ger ungefär 237 kg CO2e mindre än flyg.', or None."""
    values = lower_carbon_values(estimate, rules, lang)
    return rules.text("routes.lower_carbon", lang, **values) if values else None


def comparison(estimate: ClimateEstimate, rules: RuleSet, lang: Lang) -> str:
    """One line comparing a digital meeting with each mode for the party; impossible ones marked.
    Modes sharing one route (train + bus to Tromsø) are told once, by the route's name."""
    parts = [rules.text("co2.digital", lang)]
    told: list[RouteEstimate] = []
    for mode in COMPARISON_ORDER:
        kg = estimate.alternatives[mode]
        name = mode_name(mode, rules, lang)
        if kg is None:
            if mode != "ferry":
                parts.append(rules.text("co2.not_possible", lang, mode=name))
            continue
        route = estimate.routes.get(mode) if mode != "flight" else None
        if route is not None and route in told:
            continue
        serves = route.modes if route is not None else (mode,)
        if route is not None:
            told.append(route)
        label = route_name(mode, route, rules, lang)
        part = rules.text("co2.mode", lang, mode=label, kg=kg_text(kg, lang))
        hours = estimate.hours[mode]
        if mode != "flight" and hours is not None:
            part += " " + rules.text("co2.hours", lang, hours=hours_text(hours, lang))
        if estimate.planned_mode in serves:
            part += " " + rules.text("co2.planned", lang)
        parts.append(part)
    return rules.text(
        "co2.comparison", lang, travellers=estimate.travellers, modes=" · ".join(parts)
    )
