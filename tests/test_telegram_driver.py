"""The Telegram driver through the five scenarios of the cross-channel matrix: what the engine
recorded and what the user sees. The scenarios take any driver; tests/test_teams_driver.py runs
them on Teams."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from bot.messages import Incoming
from rules.ruleset import RuleSet
from tests.drivers import ChannelDriver, Shown
from tests.drivers.telegram import open_driver

OpenDriver = Callable[[str | None], AbstractAsyncContextManager[Any]]
LOCALES = {"en": "en-GB", "sv": "sv-SE"}
WORDS = {
    "en": {"yes": "yes", "no": "no", "trip": "trip"},
    "sv": {"yes": "ja", "no": "nej", "trip": "resa"},
}
# Typed answers from the greeting to "Does it contribute to development?", per language.
PARTNER_CONTACT_OPENING = {
    "en": ["hello", "trip", "Board meeting", "City of Oulu", "none", "Oulu", "don't know"],
    "sv": ["hej", "resa", "Styrelsemöte", "Uleåborgs stad", "ingen", "Uleåborg", "vet inte"],
}


async def answers(driver: ChannelDriver) -> dict[str, Any]:
    """What the engine holds of the user's check now: field → value."""
    state = await driver.engine.storage.load_conversation(driver.key)
    assert state is not None
    return {field: answer.value for field, answer in state.answers.items()}


async def reach_development(driver: ChannelDriver, opening: list[str]) -> None:
    for text in opening:
        await driver.say(text)


def texts(shown: list[Shown]) -> str:
    return "\n".join(s.text for s in shown)


async def stale_press_after_a_typed_answer(
    driver: ChannelDriver, rules: RuleSet, lang: str, opening: list[str]
) -> None:
    await reach_development(driver, opening)
    development = driver.latest_question()
    assert development.buttons[:2] == ("yes", "no")
    await driver.say(WORDS[lang]["no"])
    shown = await driver.press("yes", development)
    assert rules.text("hint.stale_button", lang) in texts(shown)  # type: ignore[arg-type]
    # The open question is asked again, with its buttons.
    assert shown[-1].text == rules.text("q.external_monitoring", lang)  # type: ignore[arg-type]
    assert shown[-1].buttons[:2] == ("yes", "no")
    recorded = await answers(driver)
    assert recorded["contributes_development"] is False
    assert "external_monitoring" not in recorded
    after = await driver.seen(development)
    assert after == Shown(development.text)  # not marked answered, its buttons gone


async def press_after_the_idle_pause(
    driver: ChannelDriver, rules: RuleSet, lang: str, opening: list[str]
) -> None:
    await reach_development(driver, opening)
    development = driver.latest_question()
    later = time.time() + 30 * 86400
    driver.engine.clock = lambda: later
    shown = await driver.press("yes", development)
    assert "contributes_development" not in await answers(driver)
    assert shown and shown[-1].buttons  # the bot asks whether to go on first
    assert await driver.seen(development) == Shown(development.text)


async def press_two_questions_back(
    driver: ChannelDriver, rules: RuleSet, lang: str, opening: list[str]
) -> None:
    await reach_development(driver, opening)
    development = driver.latest_question()
    await driver.press("no", development)
    answered = await driver.seen(development)
    assert answered.text != development.text and not answered.buttons
    await driver.press("no")
    shown = await driver.press("yes", development)
    assert rules.text("hint.stale_button", lang) in texts(shown)  # type: ignore[arg-type]
    assert shown[-1].text == rules.text("q.influence", lang)  # type: ignore[arg-type]
    recorded = await answers(driver)
    assert (recorded["contributes_development"], recorded["external_monitoring"]) == (False, False)
    assert "influence" not in recorded
    assert await driver.seen(development) == answered  # still shows the answer it had


async def typed_answer_while_buttons_are_shown(
    driver: ChannelDriver, rules: RuleSet, lang: str, opening: list[str]
) -> None:
    await driver.say(opening[0])
    kind = driver.latest_question()
    assert kind.buttons == ("trip", "project", "activity")
    shown = await driver.say(WORDS[lang]["trip"])
    assert shown[-1].text == rules.text("q.title", lang)  # type: ignore[arg-type]
    assert (await answers(driver))["kind"] == "trip"
    assert await driver.seen(kind) == Shown(kind.text)  # its buttons went with the answer


async def language_from_the_locale(
    open_channel: OpenDriver, rules: RuleSet, locale: str | None, lang: str
) -> None:
    async with open_channel(locale) as driver:
        # A wave is no greeting in either language: the platform's locale decides.
        shown = await driver.say("👋")
        assert shown[0].text == rules.text("greeting", lang)  # type: ignore[arg-type]
        assert shown[-1].text == rules.text("q.kind", lang)  # type: ignore[arg-type]
        assert await driver.engine.conversation_lang(driver.key) == lang


SCENARIOS = [
    stale_press_after_a_typed_answer,
    press_after_the_idle_pause,
    press_two_questions_back,
    typed_answer_while_buttons_are_shown,
]


@pytest.fixture(params=["en", "sv"])
async def telegram_user(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, str]]:
    async with open_driver(LOCALES[request.param]) as driver:
        yield driver, request.param


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
async def test_a_scenario_on_telegram(
    telegram_user: tuple[Any, str], rules: RuleSet, scenario: Any
) -> None:
    driver, lang = telegram_user
    await scenario(driver, rules, lang, PARTNER_CONTACT_OPENING[lang])


@pytest.mark.parametrize(
    ("locale", "lang"), [("sv", "sv"), ("sv-SE", "sv"), ("en-GB", "en"), ("de", "en"), (None, "en")]
)
async def test_the_language_comes_from_the_telegram_app(
    rules: RuleSet, locale: str | None, lang: str
) -> None:
    await language_from_the_locale(open_driver, rules, locale, lang)


async def a_press_names_its_question(open_channel: OpenDriver, locale: str) -> None:
    """The press reaches the engine with the step of the question its button belongs to."""
    async with open_channel(locale) as driver:
        turns: list[Incoming] = []
        handle = driver.engine.handle

        async def watched(key: Any, incoming: Incoming, **options: Any) -> Any:
            turns.append(incoming)
            return await handle(key, incoming, **options)

        driver.engine.handle = watched
        await driver.say("hello")
        await driver.press("trip")
        assert turns[-1] == Incoming(choice="trip", step="kind", lang="en")


async def test_every_press_names_its_question() -> None:
    await a_press_names_its_question(open_driver, "en")
