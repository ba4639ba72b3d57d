"""The short decision (issue 11, item 5): which reasons and travel guidelines it shows, and the
words that ask for the rest or for a summary to share. The choices are data
(`data/short_decision.yml`); this module only applies them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from rules.matching import normalize
from rules.models import BilingualList, Strict

Request = Literal["details", "share"]


class GuidelineWhen(Strict):
    """One way a travel guideline changes something for a trip: every fact it names holds."""

    travellers_at_least: int | None = Field(default=None, ge=1)
    planned_mode: tuple[str, ...] | None = None
    planned_not_lowest: bool | None = None
    physical_necessary: tuple[Literal["yes", "no", "unsure"], ...] | None = None
    distance_km_at_least: float | None = Field(default=None, ge=0)


class ShortDecision(Strict):
    """What the short decision may hold, and the words that ask for more."""

    max_lines: int = Field(ge=4)
    max_reasons: int = Field(ge=1)
    # Guidelines that change something come before the last reasons, down to this many.
    min_reasons: int = Field(ge=1)
    reasons: tuple[str, ...]
    guidelines: dict[str, tuple[GuidelineWhen, ...]]
    words: dict[Request, BilingualList]


@dataclass(frozen=True)
class TripFacts:
    """What a guideline's conditions may test, from the decision's figures and the answers."""

    travellers: int | None
    physical_necessary: str | None
    planned_mode: str | None
    lowest_mode: str | None
    distance_km: float | None

    @classmethod
    def of(cls, co2: Mapping[str, Any] | None, answers: Mapping[str, Any]) -> TripFacts:
        figures = co2 or {}
        travellers = answers.get("travellers")
        distance = figures.get("distance_km")
        return cls(
            travellers=travellers if isinstance(travellers, int) else None,
            physical_necessary=_text_or_none(answers.get("physical_necessary")),
            planned_mode=_text_or_none(figures.get("planned_mode")),
            lowest_mode=_text_or_none(figures.get("lowest_reasonable_mode")),
            distance_km=float(distance) if isinstance(distance, int | float) else None,
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def holds(when: GuidelineWhen, facts: TripFacts) -> bool:
    """Whether every fact `when` names holds for the trip (an unknown fact does not)."""
    if when.travellers_at_least is not None and (
        facts.travellers is None or facts.travellers < when.travellers_at_least
    ):
        return False
    if when.planned_mode is not None and facts.planned_mode not in when.planned_mode:
        return False
    if when.planned_not_lowest is not None:
        differs = facts.lowest_mode is not None and facts.planned_mode != facts.lowest_mode
        if differs != when.planned_not_lowest:
            return False
    if (
        when.physical_necessary is not None
        and facts.physical_necessary not in when.physical_necessary
    ):
        return False
    return when.distance_km_at_least is None or (
        facts.distance_km is not None and facts.distance_km >= when.distance_km_at_least
    )


def relevant_guidelines(
    codes: Sequence[str], facts: TripFacts, short: ShortDecision
) -> tuple[int, ...]:
    """The positions of the guidelines that change something for this trip, in the order the
    data lists them (the first matters most)."""
    rank = {code: place for place, code in enumerate(short.guidelines)}
    relevant = [
        index
        for index, code in enumerate(codes)
        if any(holds(when, facts) for when in short.guidelines.get(code, ()))
    ]
    return tuple(sorted(relevant, key=lambda index: rank[codes[index]]))


def telling_reasons(codes: Sequence[str], short: ShortDecision) -> tuple[int, ...]:
    """The positions of the reasons the short form may show, the most telling first."""
    rank = {code: place for place, code in enumerate(short.reasons)}
    shown = [index for index, code in enumerate(codes) if code in rank]
    return tuple(sorted(shown, key=lambda index: rank[codes[index]]))


def line_budget(
    reasons: int, guidelines: int, fixed_lines: int, short: ShortDecision
) -> tuple[int, int]:
    """How many reasons and guidelines fit beside `fixed_lines` within max_lines: up to
    max_reasons reasons, then guidelines, which take the place of reasons beyond min_reasons."""
    room = max(short.max_lines - fixed_lines, 0)
    shown_reasons = min(reasons, short.max_reasons, room)
    shown_guidelines = min(guidelines, room - shown_reasons)
    while shown_guidelines < guidelines and shown_reasons > short.min_reasons:
        shown_reasons -= 1
        shown_guidelines += 1
    return shown_reasons, shown_guidelines


def request_of(text: str, short: ShortDecision) -> Request | None:
    """Whether typed text asks for the last decision's details or for its summary to share."""
    typed = normalize(text.removeprefix("/"))
    if not typed:
        return None
    for request, words in short.words.items():
        if typed in {normalize(word) for word in words.all()}:
            return request
    return None
