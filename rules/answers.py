"""Interprets what a user typed (or chose) for one field of a check, in either language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rules.check import YES_NO_FIELDS, Destination, PartnerRef
from rules.matching import normalize
from rules.models import Lang
from rules.places import Place, PlaceIndex
from rules.ruleset import RuleSet

MAX_TITLE = 200
MAX_NAME = 120
MAX_TRAVELLERS = 500


@dataclass(frozen=True)
class Accepted:
    """An understood answer: the value stored and the label shown back to the user."""

    value: Any
    label: str


@dataclass(frozen=True)
class Option:
    """One candidate in a did-you-mean question."""

    value: str
    answer: Accepted


@dataclass(frozen=True)
class Ambiguous:
    """Several readings (or one uncertain one): ask the user which they meant."""

    options: tuple[Option, ...]
    typed: Accepted  # what keeping the text as typed would mean


@dataclass(frozen=True)
class Rejected:
    """Not an answer to this question; `hint` is a text id."""

    hint: str


Parsed = Accepted | Ambiguous | Rejected


def _lookup(words: dict[str, Any], text: str) -> Any | None:
    """A vocabulary key for the text: the whole text, else the one key its words point to."""
    norm = normalize(text)
    if norm in words:
        return words[norm]
    tokens = norm.split()
    found = {words[t] for t in tokens if t in words}
    for size in (2, 3):
        for i in range(len(tokens) - size + 1):
            phrase = " ".join(tokens[i : i + size])
            if phrase in words:
                found.add(words[phrase])
    return found.pop() if len(found) == 1 else None


class Interpreter:
    """Turns typed text into field values using the rule set's vocabulary and matchers."""

    def __init__(self, rules: RuleSet, places: PlaceIndex | None = None) -> None:
        self.rules = rules
        self.places = places

    def parse(self, field: str, text: str, lang: Lang) -> Parsed:
        """Interprets `text` as the answer to `field`."""
        text = text.strip()
        if not text:
            return Rejected("hint.empty")
        if field == "kind":
            return self._choice(self.rules.kind_words, text, lang, "kind", "hint.kind")
        if field == "travel_mode":
            return self._choice(self.rules.mode_words, text, lang, "mode", "hint.travel_mode")
        if field == "physical_necessary":
            return self._presence(text, lang)
        if field in YES_NO_FIELDS:
            return self._yes_no(text, lang)
        if field == "title":
            return self._title(text)
        if field == "organisation":
            title = self._title(text)
            return Rejected("hint.organisation") if isinstance(title, Rejected) else title
        if field == "department":
            return self._department(text, lang)
        if field == "partner":
            return self._partner(text, lang)
        if field == "destination":
            return self._destination(text, lang)
        if field == "goals":
            return self._goals(text, lang)
        if field == "travellers":
            return self._travellers(text, lang)
        raise KeyError(field)

    def label(self, field: str, value: Any, lang: Lang) -> str:
        """How an interpreted value is shown back to the user in `lang`."""
        rules = self.rules
        if value is None:
            return "–"
        if field == "kind":
            return rules.text(f"kind.{value}", lang)
        if field == "travel_mode":
            return rules.text(f"mode.{value}", lang)
        if field == "physical_necessary":
            return rules.text(f"choice.{value}", lang)
        if isinstance(value, bool):
            return rules.text("choice.yes" if value else "choice.no", lang)
        if field == "partner":
            ref = PartnerRef.model_validate(value)
            if ref.id:
                return rules.partner_by_id[ref.id].name(lang)
            return ref.text or rules.text("partner.none", lang)
        if field == "destination":
            place = Destination.model_validate(value)
            return f"{place.name}, {place.country}" if place.country else place.name
        if field == "goals":
            if not value:
                return rules.text("goals.none", lang)
            return ", ".join(str(n) for n in value)
        return str(value)

    # --- closed questions ----------------------------------------------------------------

    def _choice(
        self, words: dict[str, Any], text: str, lang: Lang, prefix: str, hint: str
    ) -> Parsed:
        key = _lookup(words, text)
        if key is None:
            return Rejected(hint)
        return Accepted(key, self.rules.text(f"{prefix}.{key}", lang))

    def _yes_no(self, text: str, lang: Lang) -> Parsed:
        key = _lookup(self.rules.answer_words, text)
        if key not in ("yes", "no"):
            return Rejected("hint.yes_no")
        return Accepted(key == "yes", self.rules.text(f"choice.{key}", lang))

    def _presence(self, text: str, lang: Lang) -> Parsed:
        key = _lookup(self.rules.answer_words, text)
        if key is None:
            return Rejected("hint.presence")
        return Accepted(key, self.rules.text(f"choice.{key}", lang))

    # --- free text -----------------------------------------------------------------------

    def _title(self, text: str) -> Parsed:
        if len(text) > MAX_TITLE:
            return Rejected("hint.too_long")
        if not any(c.isalnum() for c in text):
            return Rejected("hint.title")
        return Accepted(text, text)

    def _department(self, text: str, lang: Lang) -> Parsed:
        if len(text) > MAX_NAME:
            return Rejected("hint.too_long")
        if not any(c.isalpha() for c in text):
            return Rejected("hint.department")
        match = self.rules.department_matcher.match(text)
        if match.key is not None:
            return Accepted(match.key, match.key)
        typed = Accepted(text, text)
        if match.status == "ambiguous":
            options = tuple(Option(name, Accepted(name, name)) for name in match.candidates)
            return Ambiguous(options, typed)
        return typed

    def _partner_answer(self, partner_id: str, text: str, lang: Lang) -> Accepted:
        partner = self.rules.partner_by_id[partner_id]
        return Accepted(PartnerRef(id=partner_id, text=text).model_dump(), partner.name(lang))

    def _partner(self, text: str, lang: Lang) -> Parsed:
        if len(text) > MAX_NAME:
            return Rejected("hint.too_long")
        if normalize(text) in self.rules.nothing_words:
            return Accepted(PartnerRef().model_dump(), self.rules.text("partner.none", lang))
        if not any(c.isalnum() for c in text):
            return Rejected("hint.partner")
        match = self.rules.partner_matcher.match(text)
        if match.key is not None:
            return self._partner_answer(match.key, text, lang)
        typed = Accepted(PartnerRef(text=text).model_dump(), text)
        if match.status == "ambiguous":
            options = tuple(
                Option(key, self._partner_answer(key, text, lang)) for key in match.candidates
            )
            return Ambiguous(options, typed)
        return typed

    def _destination(self, text: str, lang: Lang) -> Parsed:
        if len(text) > MAX_NAME:
            return Rejected("hint.too_long")
        if not any(c.isalpha() for c in text):
            return Rejected("hint.destination")
        typed = Accepted(Destination(name=text).model_dump(), text)
        near = self.rules.near_region_matcher.match(text)
        if near.key is not None and self.places is None:
            country = self.rules.near_region_country[near.key]
            return Accepted(Destination(name=near.key, country=country).model_dump(), near.key)
        if self.places is not None:
            found = self.places.resolve(text)
            if found.place is not None and found.status in ("exact", "confident"):
                return self._place_answer(found.place)
            if found.status == "ambiguous" and found.candidates:
                options = tuple(
                    Option(str(i), self._place_answer(p)) for i, p in enumerate(found.candidates)
                )
                return Ambiguous(options, typed)
        country_match = self.rules.country_matcher.match(text)
        if country_match.key is not None:
            only_country = Destination(name=text, country=country_match.key)
            return Accepted(only_country.model_dump(), text)
        return typed

    @staticmethod
    def _place_answer(place: Place) -> Accepted:
        destination = Destination(
            name=place.name,
            country=place.country_code,
            country_name=place.country,
            latitude=place.latitude,
            longitude=place.longitude,
            geonameid=place.geonameid,
            admin1=place.admin1,
            continent=place.continent,
        )
        return Accepted(destination.model_dump(), f"{place.name}, {place.country}")

    def _goals(self, text: str, lang: Lang) -> Parsed:
        norm = normalize(text)
        if norm in self.rules.nothing_words:
            return Accepted([], self.rules.text("goals.none", lang))
        numbers = {int(n) for n in re.findall(r"\d+", norm)}
        if any(not 1 <= n <= 9 for n in numbers):
            return Rejected("hint.goals")
        words = re.sub(r"\d+", " ", norm)
        for keyword, number in self.rules.goal_keywords.items():
            if re.search(rf"\b{re.escape(keyword)}\b", words):
                numbers.add(number)
        if not numbers:
            return Rejected("hint.goals")
        goals = sorted(numbers)
        return Accepted(goals, ", ".join(str(n) for n in goals))

    def _travellers(self, text: str, lang: Lang) -> Parsed:
        digits = re.fullmatch(r"(\d{1,4})(?:\s+\w+)?", text.strip())
        count = int(digits.group(1)) if digits else _lookup(self.rules.number_words, text)
        if not isinstance(count, int) or not 1 <= count <= MAX_TRAVELLERS:
            return Rejected("hint.travellers")
        return Accepted(count, str(count))
