"""What really happened: when to ask after a dated trip, and reading the typed answer
(rules/data/followup.yml)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, ValidationError

from rules.dates import When
from rules.matching import normalize
from rules.models import BilingualList, Strict

Actual = Literal["digital", "travelled", "not_held"]
ACTUALS: tuple[Actual, ...] = ("digital", "travelled", "not_held")
# Follow-ups are asked during the Swedish working day, wherever the server runs.
TIME_ZONE = ZoneInfo("Europe/Stockholm")


class FollowUpRules(Strict):
    """When a dated decision is followed up, how often, where, and the words of the answers."""

    days_after: int = Field(ge=0, le=60)
    hour: int = Field(ge=0, le=23)
    ask_again_after_days: int = Field(ge=1, le=60)
    asks: int = Field(ge=1, le=5)
    retry_after_minutes: int = Field(ge=1, le=24 * 60)
    max_failures: int = Field(ge=1, le=50)
    channels: tuple[str, ...]
    answers: dict[Actual, BilingualList]
    filler: BilingualList

    def due_at(self, when: When) -> float:
        """The moment to ask first: `days_after` days after the last day `when` may mean."""
        last = _last_day(when)
        day = last + timedelta(days=self.days_after)
        return datetime.combine(day, time(self.hour), tzinfo=TIME_ZONE).timestamp()

    def next_ask(self, attempts: int, now: float) -> float | None:
        """After the `attempts`-th question was sent at `now`: when to ask again, or None."""
        if attempts >= self.asks:
            return None
        return now + self.ask_again_after_days * 86400

    @cached_property
    def _phrases(
        self,
    ) -> tuple[tuple[tuple[tuple[str, ...], ...], ...], tuple[tuple[str, ...], ...]]:
        """Each outcome's phrases and the filler phrases, as normalized words (in the order
        of ACTUALS' keys in the data), read once."""
        answers = tuple(
            tuple(tuple(normalize(p).split()) for p in phrases.all())
            for phrases in self.answers.values()
        )
        filler = tuple(tuple(normalize(p).split()) for p in self.filler.all())
        return answers, filler

    @cached_property
    def _first_words(self) -> frozenset[str]:
        """Every word an outcome's phrase begins with: a text with none of them names none."""
        return frozenset(p[0] for phrases in self._phrases[0] for p in phrases if p)

    def read(self, text: str) -> Actual | None:
        """The outcome a typed answer names: the one with the longest phrase found, if its
        phrases make up at least half of the words that are not filler; None otherwise."""
        words = normalize(text).split()
        if self._first_words.isdisjoint(words):
            return None
        best: dict[Actual, int] = {}
        covered: dict[Actual, set[int]] = {}
        answers, fillers = self._phrases
        for actual, phrases in zip(self.answers, answers, strict=True):
            for phrase in phrases:
                for start in _found_at(words, phrase):
                    best[actual] = max(best.get(actual, 0), len(phrase))
                    covered.setdefault(actual, set()).update(range(start, start + len(phrase)))
        if not best:
            return None
        longest = max(best.values())
        found = [actual for actual, length in best.items() if length == longest]
        if len(found) != 1:
            return None
        filler: set[int] = set()
        for phrase in fillers:
            for start in _found_at(words, phrase):
                filler.update(range(start, start + len(phrase)))
        answer = covered[found[0]]
        meaningful = [n for n in range(len(words)) if n not in filler or n in answer]
        return found[0] if 2 * len(answer) >= len(meaningful) else None


def _found_at(words: list[str], phrase: tuple[str, ...]) -> list[int]:
    """Where `phrase` (as words) stands in `words`."""
    if not phrase:
        return []
    size = len(phrase)
    return [n for n in range(len(words) - size + 1) if tuple(words[n : n + size]) == phrase]


def when_of(value: Any) -> When | None:
    """The stored `when` answer's value as a When; None when absent or unreadable."""
    if isinstance(value, When):
        return value
    if not isinstance(value, dict):
        return None
    try:
        return When.model_validate({"text": "", **value})
    except ValidationError:
        return None


def _last_day(when: When) -> date:
    if when.precision == "week":
        return when.start + timedelta(days=6)
    if when.precision == "month":
        days = calendar.monthrange(when.start.year, when.start.month)[1]
        return when.start.replace(day=days)
    return when.start
