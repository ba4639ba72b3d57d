"""A check: the answers the decision is made from, and which questions apply when."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rules.dates import When
from rules.fields import FIELDS, applies, qualifies
from rules.places import Place, PlaceKind

Kind = Literal["trip", "project", "activity"]
Mode = Literal["flight", "train", "bus", "car", "ferry"]
Presence = Literal["yes", "no", "unsure"]
MODES: tuple[Mode, ...] = ("flight", "train", "bus", "car", "ferry")


class PartnerRef(BaseModel):
    """The partner as understood: a partner of the plan (id) or an unlisted one (text only)."""

    model_config = ConfigDict(frozen=True)
    id: str | None = None
    text: str = ""
    # The other partners of the plan named with the one that leads ("SERN och UBC").
    others: tuple[str, ...] = ()
    # A dormant twin city (Zenica, Puerto Cabezas): the check asks about a decision to resume.
    dormant: bool = False


class Destination(BaseModel):
    """Where it takes place; country, coordinates and GeoNames details when the place is known.

    `kind` says what the place is: a town, a region or a country (their coordinates are a
    representative point or the capital, so `approximate`), or a digital meeting (no place
    at all). `hosted` marks the municipality itself: an activity we host (POLICY.md §9.1).
    """

    model_config = ConfigDict(frozen=True)
    name: str
    country: str | None = None
    country_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    geonameid: int | None = None
    admin1: str = ""
    continent: str = ""
    kind: PlaceKind = "town"
    approximate: bool = False
    hosted: bool = False

    @property
    def digital(self) -> bool:
        return self.kind == "digital"

    @classmethod
    def from_place(cls, place: Place) -> Destination:
        """The destination a resolved place makes (see `RuleSet.destination_for`)."""
        return cls(
            name=place.name,
            country=place.country_code,
            country_name=place.country,
            latitude=place.latitude,
            longitude=place.longitude,
            geonameid=place.geonameid or None,
            admin1=place.admin1,
            continent=place.continent,
            kind=place.kind,
            approximate=place.approximate,
        )

    @classmethod
    def digital_meeting(cls, name: str) -> Destination:
        """A digital meeting given as the place ("Teams", "på distans"): no trip."""
        return cls(name=name, kind="digital")


class Check(BaseModel):
    """A completed check. Fields that did not apply are None."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Kind
    title: str = Field(min_length=1, max_length=200)
    department: str = Field(min_length=1, max_length=200)
    partner: PartnerRef | None = None
    # For a dormant twin city: whether a decision says active cooperation is relevant again.
    dormant_resumed: bool | None = None
    destination: Destination | None = None
    # For a hosted activity (destination Luleå): where the guests come from; it decides the
    # focus area.
    guests_from: Destination | None = None
    contributes_development: bool
    # None: not asked, an earlier checklist answer was already yes (one is enough).
    external_monitoring: bool | None = None
    influence: bool | None = None
    goals: tuple[int, ...] = ()
    physical_necessary: Presence | None = None
    digital_alternative: bool | None = None
    travellers: int | None = Field(default=None, ge=1, le=500)
    travel_mode: Mode | None = None
    # None: not asked, the check does not qualify whatever the answer (POLICY.md §8).
    equality_considered: bool | None = None
    eu_funding_checked: bool | None = None
    in_annual_plan: bool | None = None
    # When it takes place ({"start", "precision", "text"}, see rules/dates.py); None when
    # the user does not know yet.
    when: When | None = None
    # Why it is worth it where the plan asks for a reason (outside the focus areas, a flight
    # with a reasonable lower-carbon mode).
    motivation: str | None = Field(default=None, max_length=1000)

    @property
    def qualifies(self) -> bool:
        """Adds value by the checklist and contributes to at least one goal (POLICY.md §8)."""
        return qualifies(self.model_dump())


def check_from_answers(answers: Mapping[str, Any]) -> Check:
    """Builds a Check from interpreted answers, keeping only the fields that apply."""
    kept = {f: answers[f] for f in FIELDS if f in answers and applies(f, answers)}
    return Check.model_validate(kept)
