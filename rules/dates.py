"""When a trip or activity takes place, as people type it: "12 mars", "i maj", "2027-03-12",
"12/3", "next week", "imorgon". The words (month names, "nästa vecka") are the vocabulary's
`months` and `dates` groups, read in both languages whatever the conversation's language."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from rules.matching import normalize
from rules.models import BilingualList, Lang

if TYPE_CHECKING:  # the rule set's loader needs the check, which needs `When`
    from rules.ruleset import RuleSet

Precision = Literal["day", "week", "month"]
# Numeric dates, read from the text as typed: 2027-03-12, 2027-03, 12/3, 12/3/2027, 12.3.2027.
# Day before month, as in Sweden and most of Europe.
_ISO_DAY = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})-(\d{1,2})(?![\d-])")
_ISO_MONTH = re.compile(r"(?<![\d-])(\d{4})-(\d{1,2})(?![\d-])")
_DAY_MONTH = re.compile(r"(?<![\d/.])(\d{1,2})([/.])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?![\d/])")
_DIGITS = re.compile(r"\d+")
_WORD = re.compile(r"[^\W_]+")
_DASH = re.compile(r"^\s*[-‐‑–—]\s*$")
MIN_YEAR, MAX_YEAR = 2000, 2100


class When(BaseModel):
    """A date of the trip or activity: a day, the Monday of a week, or the first of a month,
    with `text` as it was typed."""

    model_config = ConfigDict(frozen=True)
    start: date
    precision: Precision
    text: str


@dataclass(frozen=True)
class Token:
    """One word of a text: its normalised form and where it stands in the text as typed."""

    norm: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """The words of `text`, normalised ("Uleåborg" → "uleaborg"), each with its span."""
    tokens: list[Token] = []
    for match in _WORD.finditer(text):
        for part in normalize(match.group()).split():
            tokens.append(Token(part, match.start(), match.end()))
    return tokens


def phrase_keys(groups: Mapping[int, BilingualList]) -> dict[tuple[str, ...], int]:
    """Every word of every group, in both languages, as normalised tokens → the group's key."""
    return {
        tuple(normalize(word).split()): key
        for key, words in groups.items()
        for word in words.all()
        if normalize(word)
    }


def phrase_set(words: BilingualList | Iterable[str]) -> set[tuple[str, ...]]:
    """The words as normalised token tuples (both languages of a bilingual list)."""
    listed = words.all() if isinstance(words, BilingualList) else tuple(words)
    return {tuple(normalize(word).split()) for word in listed if normalize(word)}


def phrase_at(tokens: list[Token], index: int, phrases: Iterable[tuple[str, ...]]) -> int:
    """The length of the longest phrase that starts at `index`, 0 when none does."""
    words = tuple(t.norm for t in tokens)
    return max(
        (len(p) for p in phrases if words[index : index + len(p)] == p),
        default=0,
    )


def phrase_ending(tokens: list[Token], index: int, phrases: Iterable[tuple[str, ...]]) -> int:
    """The length of the longest phrase that ends just before `index`, 0 when none does."""
    words = tuple(t.norm for t in tokens)
    return max(
        (len(p) for p in phrases if len(p) <= index and words[index - len(p) : index] == p),
        default=0,
    )


@dataclass(frozen=True)
class DateFound:
    """A date found in a longer text, with the span of the text it was read from."""

    when: When
    start: int
    end: int


class _Words:
    """The vocabulary's date words, as token tuples."""

    def __init__(self, rules: RuleSet) -> None:
        vocabulary = rules.vocabulary
        words = vocabulary.dates
        self.full_months: dict[str, int] = {}
        self.short_months: dict[str, int] = {}
        for number, names in vocabulary.months.items():
            for lang_names in (names.sv, names.en):
                # The first word of a language is the month's full name, the rest short forms
                # ("sept" for September).
                self.full_months.setdefault(normalize(lang_names[0]), number)
                for short in lang_names[1:]:
                    self.short_months.setdefault(normalize(short), number)
        self.needing_context = {normalize(w) for w in words.month_words_needing_context.all()}
        self.month_lead = phrase_set(words.month_lead)
        self.day_lead = phrase_set(words.day_lead)
        self.link = phrase_set(words.day_month_link)
        self.suffixes = {normalize(w) for w in words.ordinal_suffixes.all()}
        self.days = phrase_keys(words.days_from_today)
        self.weeks = phrase_keys(words.weeks_from_now)
        self.months_ahead = phrase_keys(words.months_from_now)

    def month(self, token: str) -> int | None:
        return self.full_months.get(token) or self.short_months.get(token)

    def day(self, token: str) -> int | None:
        """The day of month a token is ("12", "12th"), None when it is none."""
        digits = _DIGITS.match(token)
        if digits is None:
            return None
        suffix = token[digits.end() :]
        if suffix and suffix not in self.suffixes:
            return None
        day = int(digits.group())
        return day if 1 <= day <= 31 else None


def _on_or_after(today: date, month: int, day: int) -> date | None:
    """The next `day` of `month` on or after today (29 February: the next leap year's)."""
    for year in range(today.year, today.year + 9):
        if day <= calendar.monthrange(year, month)[1]:
            found = date(year, month, day)
            if found >= today:
                return found
    return None


def _day(year: int | None, month: int, day: int, today: date) -> date | None:
    if not 1 <= month <= 12:
        return None
    if year is None:
        return _on_or_after(today, month, day)
    if not MIN_YEAR <= year <= MAX_YEAR or day > calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day)


def _month(year: int | None, month: int, today: date) -> date | None:
    if not 1 <= month <= 12:
        return None
    if year is None:
        year = today.year if month >= today.month else today.year + 1
    return date(year, month, 1) if MIN_YEAR <= year <= MAX_YEAR else None


def _year(token: Token | None) -> int | None:
    if token is None or not token.norm.isdigit() or len(token.norm) != 4:
        return None
    return int(token.norm)


@lru_cache(maxsize=4)
def _words_of(rules: RuleSet) -> _Words:
    """The date words of a rule set, built once: every answer and opening reads them."""
    return _Words(rules)


class _Scanner:
    """Reads every date form out of one text."""

    def __init__(self, text: str, rules: RuleSet, today: date) -> None:
        self.text = text
        self.today = today
        self.words = _words_of(rules)
        self.tokens = tokenize(text)
        self.found: list[DateFound] = []

    def add(self, start: int, end: int, start_date: date | None, precision: Precision) -> None:
        if start_date is None:
            return
        when = When(start=start_date, precision=precision, text=self.text[start:end].strip())
        self.found.append(DateFound(when, start, end))

    def numeric(self) -> None:
        today = self.today
        for m in _ISO_DAY.finditer(self.text):
            self.add(m.start(), m.end(), _day(int(m[1]), int(m[2]), int(m[3]), today), "day")
        for m in _ISO_MONTH.finditer(self.text):
            self.add(m.start(), m.end(), _month(int(m[1]), int(m[2]), today), "month")
        for m in _DAY_MONTH.finditer(self.text):
            year = None if m[4] is None else int(m[4]) + (2000 if len(m[4]) == 2 else 0)
            if m[2] == "." and year is None:
                continue  # "3.5" is a number, not a date
            self.add(m.start(), m.end(), _day(year, int(m[3]), int(m[1]), today), "day")

    def relative(self) -> None:
        tokens, today = self.tokens, self.today
        monday = today - timedelta(days=today.weekday())
        for i in range(len(tokens)):
            for phrases, to_date, precision in (
                (self.words.days, lambda n: today + timedelta(days=n), "day"),
                (self.words.weeks, lambda n: monday + timedelta(weeks=n), "week"),
                (self.words.months_ahead, self._months_ahead, "month"),
            ):
                size = phrase_at(tokens, i, phrases)
                if size:
                    key = tuple(t.norm for t in tokens[i : i + size])
                    span = tokens[i].start, tokens[i + size - 1].end
                    self.add(*span, to_date(phrases[key]), precision)  # type: ignore[arg-type]

    def _months_ahead(self, count: int) -> date:
        month = self.today.month - 1 + count
        return date(self.today.year + month // 12, month % 12 + 1, 1)

    def named(self) -> None:
        """Dates with a month name: "12 mars", "March 12", "maj 2027", "i maj"."""
        tokens, words = self.tokens, self.words
        for i, token in enumerate(tokens):
            month = words.month(token.norm)
            if month is None:
                continue
            after = tokens[i + 1] if i + 1 < len(tokens) else None
            before_day = self._day_before(i)
            if before_day is not None:
                first, day = before_day
                year_token = after if _year(after) else None
                end = (year_token or token).end
                self.add(
                    self._with_day_lead(first), end, self._dated(year_token, month, day), "day"
                )
                continue
            day_after = words.day(after.norm) if after is not None else None
            if after is not None and day_after is not None and _year(after) is None:
                last = i + 1
                if last + 1 < len(tokens) and tokens[last + 1].norm in words.suffixes:
                    last += 1
                year_token = tokens[last + 1] if _year(self._at(last + 1)) else None
                end = (year_token or tokens[last]).end
                start = self._with_day_lead(i)
                self.add(start, end, self._dated(year_token, month, day_after), "day")
                continue
            year = _year(after)
            if after is not None and year is not None:
                self.add(token.start, after.end, _month(year, month, self.today), "month")
                continue
            # A month on its own is only a full name: "i maj", "mars"; never "jan" (a name)
            # nor "may" without a lead ("we may fly").
            if token.norm not in words.full_months:
                continue
            lead = phrase_ending(tokens, i, words.month_lead)
            if lead or token.norm not in words.needing_context:
                start = tokens[i - lead].start
                self.add(start, token.end, _month(None, month, self.today), "month")

    def _at(self, index: int) -> Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def _dated(self, year_token: Token | None, month: int, day: int) -> date | None:
        return _day(_year(year_token), month, day, self.today)

    def _day_before(self, month_index: int) -> tuple[int, int] | None:
        """The day written before the month at `month_index` ("12 mars", "12:e mars",
        "12th of March", "12–14 mars"): the index of its first token and the day."""
        index = month_index - phrase_ending(self.tokens, month_index, self.words.link)
        if index > 0 and self.tokens[index - 1].norm in self.words.suffixes:
            index -= 1
        day_token = self._at(index - 1)
        if day_token is None or (day := self.words.day(day_token.norm)) is None:
            return None
        first = index - 1
        # A range "12–14 mars" starts on its first day.
        earlier = self._at(first - 1)
        if earlier is not None and _DASH.match(self.text[earlier.end : day_token.start]):
            earlier_day = self.words.day(earlier.norm)
            if earlier_day is not None and earlier_day <= day:
                return first - 1, earlier_day
        return first, day

    def _with_day_lead(self, first: int) -> int:
        """Where a date starting at token `first` begins, its "den"/"on the" included."""
        lead = phrase_ending(self.tokens, first, self.words.day_lead)
        return self.tokens[first - lead].start

    def dates(self) -> list[DateFound]:
        """Every date found, the longest first where two overlap, in the order written."""
        self.numeric()
        self.relative()
        self.named()
        chosen: list[DateFound] = []
        for found in sorted(self.found, key=lambda f: (f.start - f.end, f.start)):
            if all(found.end <= c.start or found.start >= c.end for c in chosen):
                chosen.append(found)
        return sorted(chosen, key=lambda f: f.start)


def find_dates(text: str, rules: RuleSet, today: date) -> list[DateFound]:
    """Every date written in a longer text, in order, with the span each was read from."""
    return _Scanner(text, rules, today).dates()


def parse_when(text: str, lang: Lang, today: date, rules: RuleSet) -> When | None:
    """The one date the text gives ("12 mars", "den 12 mars", "in May", "2027-03-12",
    "nästa vecka"), None when it gives none or several different ones. A date without a
    year is the next such date on or after `today`. Words of both languages are read
    whatever `lang` is, as every answer is."""
    found = find_dates(text, rules, today)
    distinct = {(f.when.start, f.when.precision) for f in found}
    return found[0].when if len(distinct) == 1 else None


def when_label(when: When, lang: Lang, rules: RuleSet) -> str:
    """How a date is shown back: "12 mars 2027", "maj 2027", "the week of 8 March 2027"."""
    month = rules.vocabulary.months[when.start.month](lang)[0]
    return rules.text(
        f"when.{when.precision}",
        lang,
        day=when.start.day,
        month=month,
        year=when.start.year,
    )
