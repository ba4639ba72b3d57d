"""The Teams driver through the five scenarios of the cross-channel matrix (written once in
tests/test_telegram_driver.py), for a municipal employee in a personal chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from rules.ruleset import RuleSet
from tests.drivers.teams import open_driver
from tests.test_telegram_driver import (
    LOCALES,
    SCENARIOS,
    a_press_names_its_question,
    language_from_the_locale,
)

# Typed answers from the greeting to "Does it contribute to development?", per language.
EMPLOYEE_OPENING = {
    "en": [
        *("hello", "trip", "Board meeting", "Arbetsmarknadsförvaltningen", "none", "Oulu"),
        "don't know",
    ],
    "sv": ["hej", "resa", "Styrelsemöte", "Kommunstaben", "ingen", "Uleåborg", "vet inte"],
}


@pytest.fixture(params=["en", "sv"])
async def teams_user(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, str]]:
    async with open_driver(LOCALES[request.param]) as driver:
        yield driver, request.param


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
async def test_a_scenario_in_teams(
    teams_user: tuple[Any, str], rules: RuleSet, scenario: Any
) -> None:
    driver, lang = teams_user
    await scenario(driver, rules, lang, EMPLOYEE_OPENING[lang])


@pytest.mark.parametrize(
    ("locale", "lang"),
    # Without a locale the engine's default (Swedish) applies.
    [("sv-SE", "sv"), ("sv-FI", "sv"), ("en-US", "en"), ("fi-FI", "en"), (None, "sv")],
)
async def test_the_language_comes_from_the_teams_client(
    rules: RuleSet, locale: str | None, lang: str
) -> None:
    await language_from_the_locale(open_driver, rules, locale, lang)


async def test_every_click_names_its_question() -> None:
    await a_press_names_its_question(open_driver, "en-US")
