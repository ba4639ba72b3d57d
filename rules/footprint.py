"""Climate figures for a check: its estimate, the record the log keeps, and how it is told."""

from __future__ import annotations

from typing import Any

from rules.check import Destination
from rules.climate import MODES, ClimateEstimate, Mode, estimate, great_circle_km
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


def comparison(estimate: ClimateEstimate, rules: RuleSet, lang: Lang) -> str:
    """One line comparing a digital meeting with each mode for the party; impossible ones marked."""
    parts = [rules.text("co2.digital", lang)]
    for mode in COMPARISON_ORDER:
        kg = estimate.alternatives[mode]
        name = mode_name(mode, rules, lang)
        if kg is None:
            if mode != "ferry":
                parts.append(rules.text("co2.not_possible", lang, mode=name))
            continue
        part = rules.text("co2.mode", lang, mode=name, kg=kg_text(kg, lang))
        hours = estimate.hours[mode]
        if mode != "flight" and hours is not None:
            part += " " + rules.text("co2.hours", lang, hours=hours_text(hours, lang))
        if mode == estimate.planned_mode:
            part += " " + rules.text("co2.planned", lang)
        parts.append(part)
    return rules.text(
        "co2.comparison", lang, travellers=estimate.travellers, modes=" · ".join(parts)
    )
