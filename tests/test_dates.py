"""A date or month typed freely becomes the start of the trip, in Swedish and English."""

from __future__ import annotations

from datetime import date

import pytest

from rules.dates import When, find_dates, parse_when, when_label
from rules.models import Lang
from rules.ruleset import RuleSet

TODAY = date(2026, 12, 1)  # a Tuesday


@pytest.mark.parametrize(
    ("lang", "text", "start", "precision"),
    [
        ("sv", "12 mars", "2027-03-12", "day"),
        ("sv", "den 12 mars", "2027-03-12", "day"),
        ("sv", "12:e mars", "2027-03-12", "day"),
        ("sv", "12 mars 2028", "2028-03-12", "day"),
        ("sv", "12–14 mars", "2027-03-12", "day"),
        ("sv", "1 december", "2026-12-01", "day"),  # today: on or after today
        ("sv", "30 november", "2027-11-30", "day"),  # passed this year: next year's
        ("sv", "i maj", "2027-05-01", "month"),
        ("sv", "maj 2027", "2027-05-01", "month"),
        ("sv", "i december", "2026-12-01", "month"),  # the month we are in
        ("sv", "i början av juni", "2027-06-01", "month"),
        ("sv", "mars", "2027-03-01", "month"),
        ("sv", "2027-03-12", "2027-03-12", "day"),
        ("sv", "2027-03", "2027-03-01", "month"),
        ("sv", "12/3", "2027-03-12", "day"),
        ("sv", "12/3/2027", "2027-03-12", "day"),
        ("sv", "12.3.2027", "2027-03-12", "day"),
        ("sv", "nästa vecka", "2026-12-07", "week"),
        ("sv", "imorgon", "2026-12-02", "day"),
        ("sv", "i morgon", "2026-12-02", "day"),
        ("sv", "idag", "2026-12-01", "day"),
        ("sv", "nästa månad", "2027-01-01", "month"),
        ("sv", "12 jan", "2027-01-12", "day"),
        ("en", "12 March", "2027-03-12", "day"),
        ("en", "March 12", "2027-03-12", "day"),
        ("en", "March 12th, 2027", "2027-03-12", "day"),
        ("en", "on 12 March", "2027-03-12", "day"),
        ("en", "the 12th of March", "2027-03-12", "day"),
        ("en", "in May", "2027-05-01", "month"),
        ("en", "May 2027", "2027-05-01", "month"),
        ("en", "in early June", "2027-06-01", "month"),
        ("en", "2027-03-12", "2027-03-12", "day"),
        ("en", "next week", "2026-12-07", "week"),
        ("en", "tomorrow", "2026-12-02", "day"),
        ("en", "next month", "2027-01-01", "month"),
        ("en", "29 February", "2028-02-29", "day"),  # the next leap year's
    ],
)
def test_a_date_typed_freely(
    rules: RuleSet, lang: Lang, text: str, start: str, precision: str
) -> None:
    when = parse_when(text, lang, TODAY, rules)
    assert when is not None, text
    assert (when.start.isoformat(), when.precision) == (start, precision)
    assert when.text == text


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "we may fly"),  # "may" is a month only beside a day, a year or "in"
        ("sv", "med Jan"),  # a short form is a month only beside a day or a year
        ("sv", "i jul"),  # Christmas, not July
        ("sv", "31 februari"),
        ("sv", "2027-02-30"),
        ("sv", "12 mars eller 14 mars"),  # two dates: ask
        ("sv", "3.5 timmar"),
        ("sv", "snart"),
        ("en", "hello"),
        ("sv", ""),
    ],
)
def test_no_date(rules: RuleSet, lang: Lang, text: str) -> None:
    assert parse_when(text, lang, TODAY, rules) is None


def test_a_date_inside_a_sentence_with_its_span(rules: RuleSet) -> None:
    text = "Styrelsemöte i Uleåborg den 12 mars, vi är två"
    [found] = find_dates(text, rules, TODAY)
    assert text[found.start : found.end] == "den 12 mars"
    assert found.when.start == date(2027, 3, 12)


@pytest.mark.parametrize(
    ("lang", "start", "precision", "label"),
    [
        ("sv", date(2027, 3, 12), "day", "12 mars 2027"),
        ("en", date(2027, 3, 12), "day", "12 March 2027"),
        ("sv", date(2027, 5, 1), "month", "maj 2027"),
        ("en", date(2027, 5, 1), "month", "May 2027"),
        ("sv", date(2026, 12, 7), "week", "veckan som börjar 7 december 2026"),
        ("en", date(2026, 12, 7), "week", "the week of 7 December 2026"),
    ],
)
def test_a_date_shown_back(
    rules: RuleSet, lang: Lang, start: date, precision: str, label: str
) -> None:
    when = When(start=start, precision=precision, text="")  # type: ignore[arg-type]
    assert when_label(when, lang, rules) == label


def test_every_month_is_named_in_both_languages(rules: RuleSet) -> None:
    months = rules.vocabulary.months
    assert sorted(months) == list(range(1, 13))
    assert all(months[n].sv and months[n].en for n in months)
