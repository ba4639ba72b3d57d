"""The loaded rule set: validated data plus the lookups built from it once."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rules.check import Destination
from rules.climate import ClimateData
from rules.matching import Matcher, normalize
from rules.models import (
    BilingualList,
    Countries,
    Department,
    Goal,
    Lang,
    Partner,
    Places,
    Plan,
    Region,
    Vocabulary,
)
from rules.places import Place
from rules.short_decision import ShortDecision

if TYPE_CHECKING:
    from rules.followup import FollowUpRules

EARTH_RADIUS_KM = 6371.0


def _word_map(groups: Mapping[Any, BilingualList]) -> dict[str, Any]:
    """Maps every normalised word of every group, in both languages, to the group's key."""
    words: dict[str, Any] = {}
    for key, bilingual in groups.items():
        for word in bilingual.all():
            # Punctuation-only words ("?") normalise to nothing and are matched as typed.
            words.setdefault(normalize(word) or word.strip(), key)
    return words


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class RuleSet:
    """The plan as data, with its version, texts and matchers. Immutable once built."""

    def __init__(
        self,
        *,
        version: str,
        plan: Plan,
        partners: tuple[Partner, ...],
        places: Places,
        countries: Countries,
        regions: tuple[Region, ...],
        departments: tuple[Department, ...],
        vocabulary: Vocabulary,
        climate: ClimateData,
        short_decision: ShortDecision,
        texts: Mapping[Lang, Mapping[str, str]],
        followup: FollowUpRules | None = None,
    ) -> None:
        self.version = version
        self.plan = plan
        self.partners = partners
        self.places = places
        self.countries = countries
        self.regions = regions
        self.departments = departments
        self.vocabulary = vocabulary
        self.climate = climate
        # When and how a dated decision is followed up; None: never (a rule set without it).
        self.followup = followup
        self.short_decision = short_decision
        self.texts = texts
        self.partner_by_id = {p.id: p for p in partners}
        self.goal_by_number: dict[int, Goal] = {g.number: g for g in plan.goals}
        self.partner_matcher = Matcher((p.id, (*p.aliases, p.name.sv, p.name.en)) for p in partners)
        self.department_matcher = Matcher((d.name, (d.name, *d.aliases)) for d in departments)
        # Towns of the near region known without the place index (its examples).
        near_towns = [(region, town) for region in places.near_region for town in region.towns]
        self.near_region_matcher = Matcher(
            (town.name, (town.name, *town.aliases)) for _, town in near_towns
        )
        self.near_region_country = {town.name: region.country for region, town in near_towns}
        self._near_town_admin1 = {
            (region.country, normalize(town.name)): region.admin1[0] for region, town in near_towns
        }
        self._near_admin1 = {
            (region.country, code) for region in places.near_region for code in region.admin1
        }
        self._eu = frozenset(places.eu_eea_countries) | frozenset(places.eu_territories)
        # Every country by its Swedish and English names (when the place index is not loaded).
        self.country_matcher = Matcher(
            (code, (names.name, *names.sv, *names.en))
            for code, names in countries.countries.items()
        )
        self.answer_words = _word_map(vocabulary.answers)
        self.kind_words = _word_map(vocabulary.kinds)
        self.mode_words = _word_map(vocabulary.modes)
        self.number_words = _word_map(vocabulary.numbers)
        self.command_words = _word_map(vocabulary.commands)
        self.nothing_words = {normalize(w) for w in vocabulary.nothing.all()}
        self.greeting_lang: dict[str, Lang] = {normalize(w): "sv" for w in vocabulary.greetings.sv}
        self.greeting_lang.update({normalize(w): "en" for w in vocabulary.greetings.en})
        self.goal_keywords = {
            normalize(word): goal.number for goal in plan.goals for word in goal.keywords
        }
        self.twin_city_words = tuple(normalize(w) for w in plan.twin_city_words)
        self.digital_words = tuple(normalize(w) for w in places.digital_places.all())
        together = vocabulary.together
        self.digital_word_map = dict.fromkeys(self.digital_words, True)
        self.without_words = dict.fromkeys((normalize(w) for w in together.without.all()), True)
        self.every_words = {normalize(w) for w in together.every.all()}
        self.statement_words = _word_map(together.statements)
        # A partner that is a town: a destination there with no partner named implies it.
        # Linked by the GeoNames place (geonameid, else coordinates), not by spelling.
        town_partners = [p for p in partners if p.kind in ("city", "twin_city") and p.home]
        self._town_partner_homes = [
            (p, places.partner_homes[p.id]) for p in town_partners if p.id in places.partner_homes
        ]
        self.partner_by_home = {
            normalize(name): p
            for p, home in self._town_partner_homes
            for name in (home.name, p.home.name if p.home else home.name)
        }
        self._partner_by_geonameid = {home.geonameid: p for p, home in self._town_partner_homes}

    def text(self, text_id: str, lang: Lang, /, **values: object) -> str:
        """The text `text_id` in `lang`, with its placeholders filled in."""
        template = self.texts[lang][text_id]
        return template.format(**values) if values else template

    def section(self, section_id: str, lang: Lang) -> str:
        """The plan section's heading to cite, in the user's language."""
        return self.plan.sections[section_id](lang)

    def is_eu_eea(self, country_code: str) -> bool:
        """Whether a country or territory belongs to the EU or the EEA (Åland, Réunion... too)."""
        return country_code.upper() in self._eu

    def is_home_country(self, country_code: str | None) -> bool:
        """Whether the place lies in the municipality's own country."""
        return country_code is not None and country_code.upper() == self.places.home_country

    def in_near_region(self, destination: Destination) -> bool:
        """Whether the destination lies in a region of the near region (by GeoNames admin1)."""
        if not destination.country:
            return False
        admin1 = destination.admin1 or self._near_town_admin1.get(
            (destination.country, normalize(destination.name)), ""
        )
        return (destination.country, admin1) in self._near_admin1

    def town_partner(self, destination: Destination) -> Partner | None:
        """The partner whose home town the destination is: same GeoNames place, else within
        `partner_home_radius_km` of it, else (no coordinates at all) the same name."""
        if destination.kind != "town":
            return None
        if destination.geonameid:
            return self._partner_by_geonameid.get(destination.geonameid)
        if destination.latitude is not None and destination.longitude is not None:
            radius = self.places.partner_home_radius_km
            for partner, home in self._town_partner_homes:
                km = _km(destination.latitude, destination.longitude, home.latitude, home.longitude)
                if km <= radius:
                    return partner
            return None
        return self.partner_by_home.get(normalize(destination.name))

    def is_home(self, destination: Destination) -> bool:
        """Whether the destination is the municipality itself (the trips' origin): hosted."""
        origin = self.climate.origin
        if destination.kind != "town":
            return False
        if destination.geonameid:
            return destination.geonameid == origin.geonameid
        return normalize(destination.name) == normalize(origin.name) and (
            destination.country in (None, origin.country_code)
        )

    def is_digital_text(self, text: str) -> bool:
        """Whether typed text names a digital meeting place ("Teams", "på distans")."""
        padded = f" {normalize(text)} "
        return any(f" {word} " in padded for word in self.digital_words if word)

    def destination_for(self, place: Place | Destination) -> Destination:
        """The destination a resolved place (or one known without the place index) makes:
        a hosted activity when it is the municipality itself, Luleå."""
        destination = Destination.from_place(place) if isinstance(place, Place) else place
        if not destination.hosted and self.is_home(destination):
            return destination.model_copy(update={"hosted": True})
        return destination
