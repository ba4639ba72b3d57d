"""What a one-sentence description of a trip says: "Jag ska på Bottenviksbågens styrelsemöte i
Uleåborg den 12 mars, vi är två och tänkte flyga" gives the kind, partner, place, date,
travellers and mode; the dialogue then asks only what is missing (issue 11).

Only the rule set's own words, place index and partner matcher are used. A field is read only
when the sentence says it one way: two modes, two places or two partners leave it to be
asked. Each value is the one `Interpreter.parse` gives for the field, so the dialogue stores
it as an answer, with the words it was read from as the answer's raw text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rules.answers import Accepted, Ambiguous, Interpreter, Rejected, partner_value
from rules.check import PartnerRef
from rules.dates import (
    find_dates,
    phrase_at,
    phrase_ending,
    phrase_set,
    tokenize,
    when_label,
)
from rules.matching import normalize
from rules.models import Lang
from rules.ruleset import RuleSet

# The fields a sentence can give, in the order they are shown back.
READ_FIELDS: tuple[str, ...] = (
    "kind",
    "title",
    "department",
    "partner",
    "destination",
    "guests_from",
    "when",
    "travellers",
    "travel_mode",
    "goals",
)
# The fields a message in the middle of a check can correct.
CORRECTABLE: tuple[str, ...] = (
    "kind",
    "partner",
    "destination",
    "when",
    "travellers",
    "travel_mode",
)
# Partners that are towns: their names are places as much as partners ("i Uleåborg").
_TOWN_KINDS = ("city", "twin_city")
# Longest window of words tried as one place ("Santa Lucía de Tirajana") or partner name.
_PLACE_WORDS = 4
_PARTNER_WORDS = 8
# Longest count of travellers in words ("jag och två av mina kollegor").
_COUNT_WORDS = 6
# A town typed in lower case after a preposition is taken from this many inhabitants: "i
# helgen", "på kultur" are ordinary words that small towns somewhere happen to be called.
_LOWER_CASE_TOWN = 10_000


@dataclass(frozen=True)
class Found:
    """One field read from the sentence: the value to store (as `Interpreter.parse` gives
    it), the label shown back and the words of the sentence it was read from."""

    value: Any
    label: str
    raw: str


@dataclass(frozen=True)
class Reading:
    """What a sentence said, by field name (see READ_FIELDS); an empty reading says nothing."""

    fields: Mapping[str, Found] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __contains__(self, name: object) -> bool:
        return name in self.fields

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    def get(self, name: str) -> Found | None:
        return self.fields.get(name)


class _Words:
    """The vocabulary as token tuples, built once per rule set."""

    def __init__(self, rules: RuleSet) -> None:
        vocabulary = rules.vocabulary
        words = vocabulary.sentence
        self.numbers = _keyed(rules.number_words)
        self.kinds = _keyed(rules.kind_words)
        not_modes = phrase_set(words.not_a_mode_in_a_sentence)
        self.modes = {p: k for p, k in _keyed(rules.mode_words).items() if p not in not_modes}
        self.general_kinds = phrase_set(words.general_kind_words)
        self.before = phrase_set(words.travellers_before)
        self.after = phrase_set(words.travellers_after)
        self.alone = phrase_set(words.travellers_alone)
        self.articles = {normalize(w) for w in words.articles.all()}
        self.place_before = phrase_set(words.place_before)
        self.place_from = phrase_set(words.place_from)
        self.department_before = phrase_set(words.department_before)
        self.fillers = phrase_set(words.correction_fillers)
        self.digital = phrase_set(rules.places.digital_places)
        self.goals = _keyed(rules.goal_keywords)
        # Words no place starts with on its own ("till en konferens"): the common words of
        # both languages and every other word of the vocabulary.
        common: set[tuple[str, ...]] = set()
        for group in (vocabulary.greetings, vocabulary.dates.month_lead):
            common |= phrase_set(group)
        common |= set(self.numbers) | set(self.kinds) | set(self.modes) | self.place_before
        self.common = {p[0] for p in common if len(p) == 1}
        # Places named without a preposition ("Bologna, SERN, maj"): countries and the towns
        # of the plan's partners and of the near region.
        bare: set[tuple[str, ...]] = set()
        for names in rules.countries.countries.values():
            bare |= phrase_set((names.name, *names.sv, *names.en))
        for partner in rules.partners:
            if partner.home is not None:
                bare |= phrase_set((partner.home.name,))
        bare |= phrase_set(home.name for home in rules.places.partner_homes.values())
        for region in rules.regions:
            bare |= phrase_set((region.name.sv, region.name.en, *region.aliases))
        bare |= phrase_set(
            name
            for region in rules.places.near_region
            for town in region.towns
            for name in (town.name, *town.aliases)
        )
        self.bare_places = bare


def _keyed(words: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    return {tuple(word.split()): key for word, key in words.items() if word}


_WORDS: dict[int, tuple[RuleSet, _Words]] = {}


def _words(rules: RuleSet) -> _Words:
    cached = _WORDS.get(id(rules))
    if cached is None or cached[0] is not rules:
        cached = (rules, _Words(rules))
        _WORDS[id(rules)] = cached
    return cached[1]


class _Sentence:
    """One sentence being read: its words, and which of them a field has taken."""

    def __init__(self, text: str, lang: Lang, interpreter: Interpreter) -> None:
        self.text = text
        self.lang = lang
        self.interpreter = interpreter
        self.rules = interpreter.rules
        self.words = _words(interpreter.rules)
        self.tokens = tokenize(text)
        self.taken = [False] * len(self.tokens)
        self.found: dict[str, Found] = {}

    # --- spans ---------------------------------------------------------------------------

    def raw(self, first: int, last: int) -> str:
        """The text as typed from token `first` to token `last` (inclusive)."""
        return self.text[self.tokens[first].start : self.tokens[last].end]

    def take(self, first: int, end: int) -> None:
        for i in range(first, end):
            self.taken[i] = True

    def take_chars(self, start: int, end: int) -> None:
        for i, token in enumerate(self.tokens):
            if token.start < end and token.end > start:
                self.taken[i] = True

    def free(self, first: int, end: int) -> bool:
        return end <= len(self.tokens) and not any(self.taken[first:end])

    def phrases(self, phrases: Mapping[tuple[str, ...], Any]) -> list[tuple[int, int, Any]]:
        """Every phrase found among the free words, left to right, the longest first."""
        found: list[tuple[int, int, Any]] = []
        i = 0
        while i < len(self.tokens):
            size = phrase_at(self.tokens, i, phrases)
            if size and self.free(i, i + size):
                words = tuple(t.norm for t in self.tokens[i : i + size])
                found.append((i, i + size, phrases[words]))
                i += size
            else:
                i += 1
        return found

    def keep(self, name: str, answer: Accepted, raw: str) -> None:
        self.found[name] = Found(answer.value, answer.label, raw)

    def parse(self, name: str, raw: str) -> Accepted | None:
        parsed = self.interpreter.parse(name, raw, self.lang)
        return parsed if isinstance(parsed, Accepted) else None

    # --- fields --------------------------------------------------------------------------

    def read_when(self, today: date) -> None:
        found = find_dates(self.text, self.rules, today)
        for date_found in found:
            self.take_chars(date_found.start, date_found.end)
        if len({(f.when.start, f.when.precision) for f in found}) == 1:
            when = found[0].when
            label = when_label(when, self.lang, self.rules)
            self.found["when"] = Found(when.model_dump(mode="json"), label, when.text)

    def read_travellers(self) -> None:
        counts: list[tuple[int, int]] = []
        words = self.words
        for i in range(len(self.tokens)):
            lead = phrase_at(self.tokens, i, words.before)
            if lead and self.free(i, i + lead):
                end = self._count_run(i + lead)
                if end > i + lead and not self._lone_article(i + lead, end):
                    counts.append((i, end))
            tail = phrase_at(self.tokens, i, words.after)
            if tail and self.free(i, i + tail):
                start = self._count_start(i)
                if start < i:
                    counts.append((start, i + tail))
            alone = phrase_at(self.tokens, i, words.alone)
            if alone and self.free(i, i + alone):
                counts.append((i, i + alone))
        # Overlapping readings of one count ("vi är två personer") make one, the widest.
        merged: list[list[int]] = []
        for start, end in sorted(counts):
            if merged and start < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        answers = [(s, e, self._count_of(s, e)) for s, e in merged]
        values = {a.value for _, _, a in answers if a is not None}
        for start, end, _ in answers:
            self.take(start, end)
        if len(values) == 1 and all(a is not None for _, _, a in answers):
            start, end, answer = answers[0]
            assert answer is not None
            self.keep("travellers", answer, self.raw(start, end - 1))

    def _count_of(self, start: int, end: int) -> Accepted | None:
        """The count the words from `start` to `end` say, as the travellers question reads
        it; the lead's other words left out ("vi blir tolv" is "vi tolv")."""
        answer = self.parse("travellers", self.raw(start, end - 1))
        if answer is not None:
            return answer
        i, kept = start, []
        while i < end:
            size = self._is_count(i) or 1
            if self._is_count(i):
                kept.append(self.raw(i, i + size - 1))
            i += size
        return self.parse("travellers", " ".join(kept)) if kept else None

    def _is_count(self, index: int) -> int:
        """How many words a count word at `index` spans (a digit, "två", "en kollega"), 0
        when it is none."""
        if not self.free(index, index + 1):
            return 0
        if self.tokens[index].norm.isdigit():
            return 1
        size = phrase_at(self.tokens, index, self.words.numbers)
        return size if size and self.free(index, index + size) else 0

    def _count_run(self, start: int) -> int:
        """Where the count words from `start` end, connectors at the end left out
        ("vi är två och tänkte" → "vi är två")."""
        end = start
        last_counting = start
        while end < len(self.tokens) and end - start < _COUNT_WORDS:
            size = self._is_count(end)
            if not size:
                break
            words = tuple(t.norm for t in self.tokens[end : end + size])
            end += size
            counting = self.words.numbers.get(words) or self.tokens[end - 1].norm.isdigit()
            if counting or words in self.words.after:
                last_counting = end
        return last_counting

    def _count_start(self, tail: int) -> int:
        """The first word of the count words that end just before `tail` ("three of us")."""
        best = tail
        for start in range(max(0, tail - _COUNT_WORDS), tail):
            i = start
            while i < tail:
                size = self._is_count(i)
                if not size:
                    break
                i += size
            if i == tail and any(self._counts(j) for j in range(start, tail)):
                best = start
                break
        return best

    def _counts(self, index: int) -> bool:
        token = self.tokens[index].norm
        return token.isdigit() or bool(self.words.numbers.get((token,)))

    def _lone_article(self, start: int, end: int) -> bool:
        """ "vi är en grupp": the only count is an article before a word that is no count."""
        counted = [t.norm for t in self.tokens[start:end] if self.words.numbers.get((t.norm,))]
        followed = end < len(self.tokens) and not self.taken[end]
        return followed and len(counted) == 1 and counted[0] in self.words.articles

    def read_digital(self) -> None:
        if not self.rules.is_digital_text(self.text):
            return
        found = self.phrases(dict.fromkeys(self.words.digital, True))
        # "webinar" is a kind of activity as well as a digital place: the kind keeps it, and
        # "Teams" rather than "webinar" is the place's name.
        kinds = [f for f in found if self._words_of(f[0], f[1]) in self.words.kinds]
        places = [f for f in found if f not in kinds] or kinds
        for start, end, _ in found:
            if (start, end, True) not in kinds:
                self.take(start, end)
        if places:
            raw = self.raw(places[0][0], places[0][1] - 1)
            answer = self.parse("destination", raw)
            if answer is not None:
                self.keep("destination", answer, raw)

    def _words_of(self, start: int, end: int) -> tuple[str, ...]:
        return tuple(t.norm for t in self.tokens[start:end])

    def partner_windows(self) -> dict[str, tuple[int, int]]:
        """Each partner the sentence names, with the words that name it: the longest window
        that is exactly one of its names, else the shortest of up to three words that
        matches it confidently ("Bottenviksbågens")."""
        named = self.interpreter.partners_in(self.text, self.lang)
        matcher = self.interpreter.partner_matcher
        windows: dict[str, tuple[int, int]] = {}
        count = len(self.tokens)
        for size in range(min(_PARTNER_WORDS, count), 0, -1):
            for start in range(count - size + 1):
                key = matcher.exact(self.raw(start, start + size - 1))
                if key in named and key not in windows and self.free(start, start + size):
                    windows[key] = (start, start + size)
        common = self.words.common
        for size in (1, 2, 3):
            for start in range(count - size + 1):
                if all(p in windows for p in named):
                    return windows
                end = start + size
                edges = (self.tokens[start].norm, self.tokens[end - 1].norm)
                overlaps = any(s < end and start < e for s, e in windows.values())
                # A name neither starts nor ends with "och" or "the": fewer fuzzy matches.
                if overlaps or not self.free(start, end) or any(w in common for w in edges):
                    continue
                match = matcher.match(self.raw(start, end - 1))
                if match.status == "confident" and match.key in named:
                    windows.setdefault(match.key, (start, end))
        return windows

    def read_place(self, partner_windows: Mapping[str, tuple[int, int]]) -> None:
        # A partner's name is no place ("University" is a town in the United States), but a
        # town that is a partner is one ("i Uleåborg").
        blocked = [False] * len(self.tokens)
        for partner_id, (start, end) in partner_windows.items():
            if self.rules.partner_by_id[partner_id].kind not in _TOWN_KINDS:
                for i in range(start, end):
                    blocked[i] = True
        # Where the trip starts, or a hosted activity's guests come from ("från Zenica till
        # Luleå"), is not where it goes.
        origins = self._places_after(self.words.place_from, blocked)
        for start, end, _ in origins:
            self.take(start, end)
        places = self._places_after(self.words.place_before, blocked)
        for i in range(len(self.tokens)):
            if any(start <= i < end for start, end, _ in places):
                continue
            found = self._place_at(i, blocked, after_preposition=False)
            if found is not None:
                places.append(found)
        for start, end, _ in places:
            self.take(start, end)
        if not places:
            return
        # One place, however often named; a digital meeting and a place are two.
        seen = {_place_key(a.value) for _, _, a in places}
        if "destination" in self.found:
            seen.add(_place_key(self.found["destination"].value))
            del self.found["destination"]
        if len(seen) != 1:
            return
        start, end, answer = places[0]
        self.keep("destination", answer, self.raw(start, end - 1))
        if answer.value.get("hosted") and len({_place_key(a.value) for _, _, a in origins}) == 1:
            raw = self.raw(origins[0][0], origins[0][1] - 1)
            guests = self.parse("guests_from", raw)
            if guests is not None:
                self.keep("guests_from", guests, raw)

    def _places_after(
        self, prepositions: set[tuple[str, ...]], blocked: list[bool]
    ) -> list[tuple[int, int, Accepted]]:
        """The places named right after one of `prepositions`."""
        places: list[tuple[int, int, Accepted]] = []
        for i in range(1, len(self.tokens)):
            if phrase_ending(self.tokens, i, prepositions):
                found = self._place_at(i, blocked, after_preposition=True)
                if found is not None:
                    places.append(found)
        return places

    def _place_at(
        self, first: int, blocked: list[bool], *, after_preposition: bool
    ) -> tuple[int, int, Accepted] | None:
        """The place named from word `first` on, the longest name first: after a preposition
        any place the index knows exactly, else only a country or a partner's or near
        town."""
        for size in range(min(_PLACE_WORDS, len(self.tokens) - first), 0, -1):
            end = first + size
            if not self.free(first, end) or any(blocked[first:end]):
                continue
            words = tuple(t.norm for t in self.tokens[first:end])
            # "till en konferens": a lone common word is no place ("Den Haag" is).
            if size == 1 and words[0] in self.words.common:
                continue
            if not after_preposition and words not in self.words.bare_places:
                continue
            raw = self.raw(first, end - 1)
            if not self._exact_place(raw, known=words in self.words.bare_places):
                continue
            answer = self.parse("destination", raw)
            if answer is not None and answer.value.get("country"):
                return first, end, answer
        return None

    def _exact_place(self, raw: str, *, known: bool) -> bool:
        """Whether the index knows the text exactly as a place; typed in lower case, only a
        country, a partner's or near town or a town of some size: "jobbar på kultur" is not
        Kültür in Turkey."""
        places = self.interpreter.places
        if places is None:
            return True  # the interpreter's own fallback decides (country or near town)
        found = places.resolve(raw)
        if found.status != "exact" or found.place is None:
            return False
        small = found.place.kind == "town" and found.place.population < _LOWER_CASE_TOWN
        return known or not (raw.islower() and small)

    def read_partner(self, windows: Mapping[str, tuple[int, int]]) -> None:
        place = self.found.get("destination")
        named = list(windows)
        if len(named) > 1 and place is not None:
            # A town partner named only as the place is the place ("Bottenviksbågens möte i
            # Uleåborg" is Bottenviksbågen's), unless it is all that is named.
            in_place = set(self.interpreter.partners_in(place.raw, self.lang))
            named = [
                p
                for p in named
                if not (p in in_place and self.rules.partner_by_id[p].kind in _TOWN_KINDS)
            ]
        for start, end in windows.values():
            self.take(start, end)
        if len(named) != 1:
            return
        partner_id = named[0]
        start, end = windows[partner_id]
        raw = self.raw(start, end - 1)
        partner = self.rules.partner_by_id[partner_id]
        # As the partner question reads it: a dormant twin city is flagged at once.
        value = partner_value(PartnerRef(id=partner_id, text=raw, dormant=partner.dormant))
        self.found["partner"] = Found(value, partner.name(self.lang), raw)

    def read_choice(self, name: str, phrases: Mapping[tuple[str, ...], Any]) -> None:
        found = self.phrases(phrases)
        for start, end, _ in found:
            self.take(start, end)
        if name == "kind" and len({key for _, _, key in found}) > 1:
            # "resa till en konferens": the precise word decides.
            found = [
                f
                for f in found
                if tuple(t.norm for t in self.tokens[f[0] : f[1]]) not in self.words.general_kinds
            ]
        if len({key for _, _, key in found}) != 1:
            return
        start, end, _ = found[0]
        raw = self.raw(start, end - 1)
        answer = self.parse(name, raw)
        if answer is not None:
            self.keep(name, answer, raw)

    def _follows(self, start: int, phrases: set[tuple[str, ...]]) -> bool:
        """Whether the words just before `start` are one of `phrases`."""
        words = self._words_of(0, start)
        return any(words[len(words) - len(p) :] == p for p in phrases if len(p) <= len(words))

    def read_department(self, partner_windows: dict[str, tuple[int, int]]) -> None:
        """A department named in full, or by a name of several words ("kultur och fritid");
        a one-word short name ("Miljö", "KS") is too often something else. A company that
        is also a partner is the department after "för"/"for" ("för Luleå Business Region"):
        the partner's words are then the department's."""
        matcher = self.rules.department_matcher
        count = len(self.tokens)
        found: list[tuple[int, int, str]] = []
        for size in range(min(_PARTNER_WORDS, count), 0, -1):
            for start in range(count - size + 1):
                end = start + size
                overlaps = [k for k, (s, e) in partner_windows.items() if s < end and start < e]
                led = self._follows(start, self.words.department_before)
                if (overlaps and not led) or not self.free(start, end):
                    continue
                raw = self.raw(start, end - 1)
                name = matcher.exact(raw)
                if name is not None and (size > 1 or _same(raw, name)):
                    found.append((start, end, name))
                    self.take(start, end)
                    for key in overlaps:
                        del partner_windows[key]
        if len({name for _, _, name in found}) == 1:
            raw = self.raw(found[0][0], found[0][1] - 1)
            answer = self.parse("department", raw)
            if answer is not None:
                self.keep("department", answer, raw)

    def read_goals(self) -> None:
        found = self.phrases(self.words.goals)
        if not found:
            return
        raws = [self.raw(start, end - 1) for start, end, _ in found]
        for start, end, _ in found:
            self.take(start, end)
        answer = self.parse("goals", ", ".join(raws))
        if answer is not None:
            self.keep("goals", answer, ", ".join(raws))

    def read_title(self) -> None:
        kind = self.found.get("kind")
        partner = self.found.get("partner")
        place = self.found.get("destination")
        if place is not None and not place.value.get("country"):
            place = None  # a digital meeting says nothing about the trip's name
        if kind is None or (partner is None and place is None):
            return
        # A general word names the trip only as its first word ("Resa till Uleåborg"); later
        # it is mostly a verb ("vi ska resa", "we travel").
        kind_words = tuple(t.norm for t in tokenize(kind.raw))
        starts = self.tokens[0].start == self.text.index(kind.raw)
        if kind_words in self.words.general_kinds and not starts:
            return
        what = _capitalised(_without_article(kind.raw, self.words.articles))
        values: dict[str, str] = {"what": what}
        # A town partner named as the place is named once ("Resa i Uleåborg").
        if partner is not None and place is not None and _same(partner.raw, place.raw):
            partner = None
        if partner is not None:
            # "Bottenviksbågen (Bothnian Arc)" is Bottenviksbågen in a title.
            values["partner"] = partner.label.split(" (")[0]
        if place is not None:
            values["place"] = _place_name(place.raw)
        shape = "_".join(k for k in ("partner", "place") if k in values)
        title = self.rules.text(f"sentence.title.{shape}", self.lang, **values)
        answer = self.parse("title", title)
        if answer is not None:
            self.keep("title", answer, self.text)

    def covered(self, extra: Iterable[tuple[str, ...]]) -> bool:
        """Whether every word not taken by a field is one of `extra`."""
        phrases = dict.fromkeys(extra, True)
        i = 0
        while i < len(self.tokens):
            if self.taken[i]:
                i += 1
                continue
            size = phrase_at(self.tokens, i, phrases)
            if not size:
                return False
            i += size
        return True


def _place_key(value: Mapping[str, Any]) -> tuple[Any, ...]:
    return (value.get("geonameid"), value.get("name"), value.get("country"), value.get("kind"))


def _same(one: str, other: str) -> bool:
    return normalize(one) == normalize(other)


def _without_article(text: str, articles: set[str]) -> str:
    first, _, rest = text.partition(" ")
    return rest if rest and normalize(first) in articles else text


def _capitalised(text: str) -> str:
    """ "styrelsemöte" → "Styrelsemöte", "study visit" → "Study visit"."""
    return text[:1].upper() + text[1:]


def _place_name(text: str) -> str:
    """A place as typed, each word capitalised when it was typed all in lower case."""
    return " ".join(_capitalised(w) for w in text.split()) if text.islower() else text


def _read(text: str, lang: Lang, interpreter: Interpreter, today: date | None) -> _Sentence:
    sentence = _Sentence(text.strip(), lang, interpreter)
    if today is not None:
        sentence.read_when(today)
    sentence.read_digital()
    sentence.read_travellers()
    windows = sentence.partner_windows()
    sentence.read_department(windows)
    sentence.read_place(windows)
    sentence.read_partner(windows)
    sentence.read_choice("kind", sentence.words.kinds)
    sentence.read_choice("travel_mode", sentence.words.modes)
    sentence.read_goals()
    sentence.read_title()
    return sentence


def read_sentence(text: str, lang: Lang, interpreter: Interpreter, today: date) -> Reading:
    """Every field the sentence says unambiguously, in READ_FIELDS order; an empty reading
    when it says none (the ordinary check starts)."""
    found = _read(text, lang, interpreter, today).found
    return Reading({name: found[name] for name in READ_FIELDS if name in found})


def read_correction(
    text: str,
    lang: Lang,
    interpreter: Interpreter,
    open_field: str,
    today: date | None = None,
) -> tuple[str, Found] | None:
    """A message in the middle of a check that corrects another field than the one asked
    ("vi är tre" while the goals are asked): the field and what it now is. None when the
    text could answer `open_field`, says more than one field, or says anything else."""
    # Most messages answer the open question: that is cheap to see, reading a sentence is not.
    if _could_answer(text, lang, interpreter, open_field, today):
        return None
    sentence = _read(text, lang, interpreter, today)
    found = {name: f for name, f in sentence.found.items() if name != "title"}
    if len(found) != 1:
        return None
    name, value = next(iter(found.items()))
    if name not in CORRECTABLE or name == open_field:
        return None
    if not sentence.covered(sentence.words.fillers):
        return None
    return name, value


# Free-text questions: any text is an answer to them, so nothing typed there is a correction.
_FREE_TEXT = frozenset({"title", "organisation"})
# Questions answered with a name the text is matched against.
_NAMES = frozenset({"partner", "destination", "guests_from", "department"})


def _could_answer(
    text: str,
    lang: Lang,
    interpreter: Interpreter,
    open_field: str,
    today: date | None,
) -> bool:
    """Whether `text` reads as an answer to the open question: a recognised value, or a
    did-you-mean of a closed question. Text merely kept as typed, or a guess at a name (an
    unknown partner, place or department), is no answer when it clearly says another
    field."""
    if open_field in _FREE_TEXT:
        return True
    if open_field == "confirm":
        return False  # the summary: what it says corrects the answer shown
    if open_field == "when" and today is None:
        return True  # no date can be read: the text is left to the question
    try:
        parsed = interpreter.parse(open_field, text, lang, today)
    except KeyError:
        return True  # a question this module does not know: never take its answer away
    if isinstance(parsed, Rejected):
        return False
    # For a name (partner, place, department) a did-you-mean is a guess from a few shared
    # letters ("three of us" ~ "Union of the Baltic Cities"): no answer when the text, word
    # for word, says another field.
    if isinstance(parsed, Ambiguous):
        return open_field not in _NAMES
    value = parsed.value
    rules = interpreter.rules
    if open_field == "partner":
        return bool(value.get("id")) or normalize(text) in rules.nothing_words
    if open_field in ("destination", "guests_from"):
        return bool(value.get("country")) or value.get("kind") == "digital"
    if open_field == "department":
        return rules.department_matcher.match(text).key is not None
    # "vi är tre" is not goal 3: the number words count people here.
    return not (open_field == "goals" and _counts_people(text, rules))


def _counts_people(text: str, rules: RuleSet) -> bool:
    """Whether the text counts travellers in words ("vi är tre", "three of us")."""
    words = _words(rules)
    tokens = tokenize(text)
    cues = words.before | words.after | words.alone
    return any(phrase_at(tokens, i, cues) for i in range(len(tokens)))
