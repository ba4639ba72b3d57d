"""Interprets what a user typed (or chose) for one field of a check, in either language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rules.check import Destination, PartnerRef
from rules.dates import parse_when, when_label
from rules.fields import CHECKLIST, FIELD
from rules.matching import Matcher, normalize
from rules.models import Lang, Partner
from rules.places import PlaceIndex
from rules.ruleset import RuleSet

MAX_TITLE = 200
MAX_MOTIVATION = 1000
MAX_NAME = 120
MAX_TRAVELLERS = 500
# How many words from a digital word a "no" may stand and still say there is no digital option.
NEAR_WORDS = 3
# The vocabulary group of words that recur in partners' names (stad, university, ...).
GENERIC_NAME_WORDS = "generic_name_words"
# A count as people write it: 12, 10 000, 10 000 (no-break space), 10,000, 10.000; a minus
# sign is kept so "-1" is refused rather than read as 1.
_COUNT = re.compile(r"-?\d{1,3}(?:[ \u00a0\u202f\u2009.,]\d{3})+(?!\d)|-?\d+")
# A range of goals: "1–3", "1-3", "1 — 3".
_RANGE = re.compile(r"(\d+)\s*[-‐‑–—]\s*(\d+)")


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


# The most words in a phrase of each vocabulary (the rule set's and the interpreter's, built
# once and kept, so their ids are not reused): counted once, not on every reading.
_LONGEST: dict[int, tuple[Mapping[str, Any], int]] = {}


def _longest_phrase(words: Mapping[str, Any]) -> int:
    kept = _LONGEST.get(id(words))
    if kept is not None and kept[0] is words:
        return kept[1]
    if len(_LONGEST) >= 64:
        _LONGEST.clear()
    longest = max((phrase.count(" ") + 1 for phrase in words), default=1)
    _LONGEST[id(words)] = (words, longest)
    return longest


def _phrases(words: Mapping[str, Any], tokens: list[str]) -> list[tuple[str, Any]]:
    """The text's words read left to right, the longest known phrase first: "i m not sure"
    → i, m, "not sure". Each with its key, None when unknown."""
    longest = _longest_phrase(words)
    read: list[tuple[str, Any]] = []
    start = 0
    while start < len(tokens):
        for size in range(min(longest, len(tokens) - start), 0, -1):
            phrase = " ".join(tokens[start : start + size])
            if phrase in words:
                read.append((phrase, words[phrase]))
                start += size
                break
        else:
            read.append((tokens[start], None))
            start += 1
    return read


def _lookup(words: Mapping[str, Any], text: str) -> Any | None:
    """A vocabulary key for the text: the whole text, else the one key its phrases point to."""
    norm = normalize(text)
    if norm in words:
        return words[norm]
    found = {key for _, key in _phrases(words, norm.split()) if key is not None}
    return found.pop() if len(found) == 1 else None


# Partners that are towns: named beside a partner based there, they are only its place.
_TOWNS = ("city", "twin_city")


def _home(partner: Partner) -> str:
    return normalize(partner.home.name) if partner.home is not None else ""


def partner_value(ref: PartnerRef) -> dict[str, Any]:
    """A partner answer's value: id and text, plus other partners and dormancy when set."""
    unset = {key for key in ("others", "dormant") if not getattr(ref, key)}
    return ref.model_dump(exclude=unset)


class Interpreter:
    """Turns typed text into field values using the rule set's vocabulary and matchers."""

    def __init__(self, rules: RuleSet, places: PlaceIndex | None = None) -> None:
        self.rules = rules
        self.places = places
        generic = rules.vocabulary.commands.get(GENERIC_NAME_WORDS)
        self.partner_matcher = Matcher(
            ((p.id, (*p.aliases, p.name.sv, p.name.en)) for p in rules.partners),
            generic.all() if generic is not None else (),
        )
        self._digital_or_without = {**rules.digital_word_map, **rules.without_words}
        self._last: tuple[tuple[Any, ...], Parsed] | None = None

    def parse(self, field: str, text: str, lang: Lang, today: date | None = None) -> Parsed:
        """Interprets `text` as the answer to `field` (a field of the table in rules/fields.py,
        or "organisation": a partner contact's own organisation). A date without a year is
        read as the next one on or after `today` (the date of the process when not given)."""
        # A message is often read twice in a turn (as a correction of another answer? then
        # as the answer): the last reading is kept. Readings are immutable.
        key = (field, text, lang, today, self.places)
        if today is not None and self._last is not None and self._last[0] == key:
            return self._last[1]
        parsed = self._parse(field, text, lang, today)
        self._last = (key, parsed)
        return parsed

    def _parse(self, field: str, text: str, lang: Lang, today: date | None) -> Parsed:
        text = text.strip()
        if not text:
            return Rejected("hint.empty")
        if field == "organisation":
            title = self._title(text)
            return Rejected("hint.organisation") if isinstance(title, Rejected) else title
        answer = FIELD[field].answer
        if answer == "kind":
            return self._choice(self.rules.kind_words, text, lang, "kind", "hint.kind")
        if answer == "mode":
            return self._choice(self.rules.mode_words, text, lang, "mode", "hint.travel_mode")
        if answer == "presence":
            return self._presence(text, lang)
        if answer == "yes_no":
            return self._yes_no(field, text, lang)
        if answer == "title":
            return self._title(text)
        if answer == "department":
            return self._department(text, lang)
        if answer == "partner":
            return self._partner(text, lang)
        if answer == "place":
            return (
                self._guests_from(text, lang)
                if field == "guests_from"
                else self._destination(text, lang)
            )
        if answer == "goals":
            return self._goals(text, lang)
        if answer == "when":
            return self._when(text, lang, today or date.today())
        if answer == "sentence":
            return self._motivation(text)
        return self._travellers(text, lang)

    def answer_word(self, text: str) -> str | None:
        """ "yes", "no" or "unsure" when the text says one of them, also inside a longer
        answer ("ja, spara", "I'm not sure"); None otherwise."""
        key = _lookup(self.rules.answer_words, text)
        return key if isinstance(key, str) else None

    def ticks(self, text: str, lang: Lang, statements: Sequence[str]) -> Accepted | Rejected:
        """Which of a tick list's `statements` (field names, numbered as shown) are true:
        "1, 3", "alla", "jämställdhet och årsplanen" (a list of field names); the label is how
        an unticked one is shown. "inget", "nej" and "vet inte" tick none: not knowing is not
        having done it (POLICY.md §9.3)."""
        norm = normalize(text)
        unticked = self.rules.text("choice.no", lang)
        if norm in self.rules.every_words:
            return Accepted(list(statements), unticked)
        word = _lookup(self.rules.answer_words, text)
        if word == "unsure":
            return Accepted([], self.rules.text("choice.unsure", lang))
        if norm in self.rules.nothing_words or word == "no":
            return Accepted([], unticked)
        ticked: set[str] = set()
        for number in re.findall(r"\d+", text):
            if not 1 <= int(number) <= len(statements):
                return Rejected("hint.prepared")
            ticked.add(statements[int(number) - 1])
        named = _phrases(self.rules.statement_words, normalize(re.sub(r"\d+", " ", text)).split())
        ticked.update(key for _, key in named if key in statements)
        if not ticked:
            return Rejected("hint.prepared")
        return Accepted([name for name in statements if name in ticked], unticked)

    def digital_option(self, text: str) -> bool | None:
        """What an answer to the presence question says of a digital option: True for "nej,
        det går digitalt", False for "nej, inget digitalt alternativ", None when it names
        none. A "no" only counts near the digital word, not the "nej" the answer opens with."""
        tokens = normalize(text).split()
        read = _phrases(self.rules.answer_words, tokens)
        if read and read[0][1] is not None:
            tokens = tokens[read[0][0].count(" ") + 1 :]
        words = _phrases(self._digital_or_without, tokens)
        digital = [
            i for i, (phrase, _) in enumerate(words) if phrase in self.rules.digital_word_map
        ]
        if not digital:
            return None
        near = {i for d in digital for i in range(d - NEAR_WORDS, d + NEAR_WORDS + 1)}
        return not any(
            i in near and i not in digital and phrase in self.rules.without_words
            for i, (phrase, _) in enumerate(words)
        )

    def _choice(
        self, words: dict[str, Any], text: str, lang: Lang, prefix: str, hint: str
    ) -> Parsed:
        key = _lookup(words, text)
        if key is None:
            return Rejected(hint)
        return Accepted(key, self.rules.text(f"{prefix}.{key}", lang))

    def _yes_no(self, field: str, text: str, lang: Lang) -> Parsed:
        key = _lookup(self.rules.answer_words, text)
        if key == "unsure":
            # The checklist is the user's own judgement: explain the question and ask again.
            # Elsewhere not knowing is not having done it (POLICY.md §9.3): False, shown as
            # "Vet inte", so the advisory that asks for it follows.
            if field in CHECKLIST:
                return Rejected(f"hint.unsure.{field}")
            return Accepted(False, self.rules.text("choice.unsure", lang))
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

    def _motivation(self, text: str) -> Parsed:
        if len(text) > MAX_MOTIVATION:
            return Rejected("hint.too_long")
        if sum(c.isalpha() for c in text) < 3:
            return Rejected("hint.motivation")
        return Accepted(text, text)

    def _when(self, text: str, lang: Lang, today: date) -> Parsed:
        """A date, a week or a month; "vet inte", "-" or skip leave it unknown (None)."""
        if _lookup(self.rules.answer_words, text) == "unsure" or not any(c.isalnum() for c in text):
            return Accepted(None, self.rules.text("when.unknown", lang))
        if normalize(text) in self.rules.nothing_words:
            return Accepted(None, self.rules.text("when.unknown", lang))
        when = parse_when(text, lang, today, self.rules)
        if when is None:
            return Rejected("hint.when")
        return Accepted(when.model_dump(mode="json"), when_label(when, lang, self.rules))

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

    def _partner_answer(
        self, partner_id: str, text: str, lang: Lang, named: list[str] | None = None
    ) -> Accepted:
        partner = self.rules.partner_by_id[partner_id]
        others = tuple(key for key in named or () if key != partner_id)
        ref = PartnerRef(id=partner_id, text=text, others=others, dormant=partner.dormant)
        return Accepted(partner_value(ref), partner.name(lang))

    def partners_in(self, text: str, lang: Lang) -> list[str]:
        """Every partner of the plan the text names, in the order named ("SERN och UBC" →
        sern, ubc); names are matched in either language, whatever `lang` is. A town named
        as where another named partner is ("UiT i Tromsø") is that partner's place, not a
        second partner."""
        named = [self.rules.partner_by_id[key] for key in self.partner_matcher.find_all(text)]
        homes = {_home(p) for p in named if p.kind not in _TOWNS and p.home is not None}
        return [p.id for p in named if not (p.kind in _TOWNS and _home(p) in homes)]

    def _partner(self, text: str, lang: Lang) -> Parsed:
        if len(text) > MAX_NAME:
            return Rejected("hint.too_long")
        if normalize(text) in self.rules.nothing_words:
            return Accepted(partner_value(PartnerRef()), self.rules.text("partner.none", lang))
        if not any(c.isalnum() for c in text):
            return Rejected("hint.partner")
        match = self.partner_matcher.match(text)
        if match.status == "exact" and match.key is not None:
            return self._partner_answer(match.key, text, lang)
        typed = Accepted(partner_value(PartnerRef(text=text)), text)
        named = self.partners_in(text, lang)
        if len(named) > 1:
            # Several partners: each is an option, so none is dropped; the user says which
            # one leads (its focus area decides).
            options = tuple(
                Option(key, self._partner_answer(key, text, lang, named)) for key in named
            )
            return Ambiguous(options, typed)
        if len(named) == 1:
            return self._partner_answer(named[0], text, lang)
        if match.key is not None:
            return self._partner_answer(match.key, text, lang)
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
        return self._place(text, lang, hosting=True)

    def _guests_from(self, text: str, lang: Lang) -> Parsed:
        if len(text) > MAX_NAME:
            return Rejected("hint.too_long")
        if not any(c.isalpha() for c in text) or self.rules.is_digital_text(text):
            return Rejected("hint.guests_from")
        return self._place(text, lang, hosting=False)

    def _place(self, text: str, lang: Lang, *, hosting: bool) -> Parsed:
        """A place: digital, a resolved town, region or country, a guess to confirm, or the
        text as typed. With `hosting`, Luleå itself is marked as a hosted activity."""

        def answer(destination: Destination) -> Accepted:
            if hosting:
                destination = self.rules.destination_for(destination)
            return Accepted(destination.model_dump(), self._place_label(destination, lang))

        digital = Destination.digital_meeting(text)
        if self.rules.is_digital_text(text):
            return Accepted(digital.model_dump(), text)
        typed = answer(Destination(name=text))
        if self.places is None:
            near = self.rules.near_region_matcher.match(text)
            if near.key is not None:
                country = self.rules.near_region_country[near.key]
                return answer(Destination(name=near.key, country=country))
        else:
            found = self.places.resolve(text)
            if found.status == "digital":
                return Accepted(digital.model_dump(), text)
            if found.place is not None and found.status in ("exact", "confident"):
                return answer(Destination.from_place(found.place))
            if found.status == "ambiguous" and found.candidates:
                options = tuple(
                    Option(str(i), answer(Destination.from_place(p)))
                    for i, p in enumerate(found.candidates)
                )
                return Ambiguous(options, typed)
        country_match = self.rules.country_matcher.match(text)
        if country_match.key is not None:
            return answer(Destination(name=text, country=country_match.key, kind="country"))
        return typed

    def _place_label(self, place: Destination, lang: Lang) -> str:
        if place.digital or not place.country:
            return place.name
        label = f"{place.name}, {place.country_name or place.country}"
        if place.kind == "country" and place.country_name:
            label = place.name
        if place.approximate:
            return self.rules.text("place.approximate", lang, place=label)
        return label

    def _goals(self, text: str, lang: Lang) -> Parsed:
        norm = normalize(text)
        if norm in self.rules.nothing_words:
            return Accepted([], self.rules.text("goals.none", lang))
        numbers: set[int] = set()
        # Digits are read from the text as typed: normalising drops the "–" of "1–3".
        for first, last in _RANGE.findall(text):
            numbers.update(range(int(first), int(last) + 1))
        numbers.update(int(n) for n in re.findall(r"\d+", text))
        words = normalize(re.sub(r"\d+", " ", text))
        # Number words count when they are all there is ("fem och åtta"), so the "ett" of
        # "ett aktivt liv" is not goal 1.
        read = _phrases(self.rules.number_words, words.split())
        if read and all(key is not None for _, key in read):
            numbers.update(key for _, key in read if key)
        for keyword, number in self.rules.goal_keywords.items():
            # The substring test first: a whole-word search for each of some fifty keywords
            # was most of the cost of reading "8".
            if keyword in words and re.search(rf"\b{re.escape(keyword)}\b", words):
                numbers.add(number)
        if not numbers or any(not 1 <= n <= 9 for n in numbers):
            return Rejected("hint.goals")
        goals = sorted(numbers)
        return Accepted(goals, ", ".join(str(n) for n in goals))

    def _travellers(self, text: str, lang: Lang) -> Parsed:
        written = [int(re.sub(r"[^\d-]", "", n)) for n in _COUNT.findall(text)]
        read = _phrases(self.rules.number_words, normalize(_COUNT.sub(" ", text)).split())
        counted = [key for _, key in read if key]
        unknown = [word for word, key in read if key is None]
        # One word beside a number in digits is fine ("3 pers", "ca 3"); "tre eller fyra",
        # "5 och 8" and "jag och Anna" are not counts.
        beside_digits = len(unknown) == 1 and len(written) == 1 and not counted
        readable = len(written) <= 1 and (not unknown or beside_digits)
        if not (written or counted) or not readable or any(n < 0 for n in written):
            return Rejected("hint.travellers")
        count = sum(written) + sum(counted)
        if count > MAX_TRAVELLERS:
            return Rejected("hint.travellers_too_many")
        if count < 1:
            return Rejected("hint.travellers")
        return Accepted(count, str(count))
