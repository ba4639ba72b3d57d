"""The cross-channel scenario matrix: the same scenarios on Slack, Telegram and Teams (our app
over loopback HTTP, correctly signed, with the platform's fake behind it), REST (our app over
loopback HTTP) and jsonl (`tripcheck chat --jsonl`'s loop, in-process so a test can move the
clock). Each asserts what the engine recorded and what the user sees.

What the user sees of an old question differs by kind of channel: Slack, Telegram and Teams
edit it (its buttons go; an answer taken is shown), while REST and jsonl only add to a
transcript, so there the replies are what the user sees.

Language: Slack, Telegram and Teams give the user's locale; REST's `"lang"` field and jsonl's
`--lang` stand in for it (both accept sv or en). A greeting's words win over either; without
both, each channel's default applies (Telegram's is English, the engine's Swedish)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import pytest_asyncio

from bot.messages import ConversationKey, Incoming, TurnResult
from bot.state import ConversationState, Role
from rules.models import Lang
from rules.ruleset import RuleSet
from tests.drivers import (
    ChannelDriver,
    Loopback,
    Shown,
    jsonl,
    loopback,
    rest,
    slack,
    teams,
    telegram,
)

OpenDriver = Callable[[str | None, Loopback], AbstractAsyncContextManager[ChannelDriver]]
CHANNELS: dict[str, OpenDriver] = {
    "slack": slack.open_driver,
    "telegram": telegram.open_driver,
    "teams": teams.open_driver,
    "rest": rest.open_driver,
    "jsonl": jsonl.open_driver,
}
# Each channel's way of saying "this user reads Swedish / English".
LOCALES: dict[str, dict[Lang, str]] = {
    "slack": {"sv": "sv-SE", "en": "en-GB"},
    "telegram": {"sv": "sv", "en": "en"},
    "teams": {"sv": "sv-SE", "en": "en-US"},
    "rest": {"sv": "sv", "en": "en"},
    "jsonl": {"sv": "sv", "en": "en"},
}
# The locale (None: the platform gives none) → the language of a new check.
LOCALE_CASES: dict[str, list[tuple[str | None, Lang]]] = {
    "slack": [("sv-SE", "sv"), ("sv_FI", "sv"), ("en-GB", "en"), ("fi-FI", "en"), (None, "sv")],
    "telegram": [("sv", "sv"), ("sv-SE", "sv"), ("en-GB", "en"), ("de", "en"), (None, "en")],
    "teams": [("sv-SE", "sv"), ("sv-FI", "sv"), ("en-US", "en"), ("fi-FI", "en"), (None, "sv")],
    # REST ignores a "lang" it does not know (the engine's default applies).
    "rest": [("sv", "sv"), ("en", "en"), ("de", "sv"), (None, "sv")],
    "jsonl": [("sv", "sv"), ("en", "en"), (None, "sv")],
}
LANGS: tuple[Lang, ...] = ("sv", "en")
# Typed answers from the greeting to "Does it contribute to development?" (the date left
# open): employees name their department, partner contacts (Telegram) their organisation.
# One checklist "yes" settles the checklist, so the scenarios answer "no" to go on.
OPENINGS: dict[Role, dict[Lang, list[str]]] = {
    "employee": {
        "en": [
            *("hello", "trip", "Board meeting", "Arbetsmarknadsförvaltningen", "none", "Oulu"),
            "don't know",
        ],
        "sv": ["hej", "resa", "Styrelsemöte", "Kommunstaben", "ingen", "Uleåborg", "vet inte"],
    },
    "partner_contact": {
        "en": ["hello", "trip", "Board meeting", "City of Oulu", "none", "Oulu", "don't know"],
        "sv": ["hej", "resa", "Styrelsemöte", "Uleåborgs stad", "ingen", "Uleåborg", "vet inte"],
    },
}
WORDS: dict[Lang, dict[str, str]] = {
    "en": {"yes": "yes", "no": "no", "trip": "trip", "greeting": "Hello"},
    "sv": {"yes": "ja", "no": "nej", "trip": "resa", "greeting": "Hej"},
}

# The module's tests share one event loop, so they can share the servers.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[Loopback]:
    async with loopback() as shared:
        yield shared


@pytest_asyncio.fixture(
    loop_scope="module",
    params=[(channel, lang) for channel in CHANNELS for lang in LANGS],
    ids=lambda param: "-".join(param),
)
async def user(
    request: pytest.FixtureRequest, servers: Loopback
) -> AsyncIterator[tuple[ChannelDriver, Lang]]:
    """A new user of each channel, whose platform is set to each language."""
    channel, lang = request.param
    async with CHANNELS[channel](LOCALES[channel][lang], servers) as driver:
        yield driver, lang


async def state_of(driver: ChannelDriver) -> ConversationState:
    state = await driver.engine.storage.load_conversation(driver.key)
    assert state is not None
    return state


async def answers(driver: ChannelDriver) -> dict[str, Any]:
    """What the engine holds of the user's check now: field → value."""
    return (await state_of(driver)).values()


async def reach_development(driver: ChannelDriver, lang: Lang) -> None:
    """Types the answers up to "Does it contribute to development?"."""
    for text in OPENINGS[driver.role][lang]:
        await driver.say(text)
    assert (await state_of(driver)).step == "contributes_development"


def asks(shown: Shown, rules: RuleSet, step: str, lang: Lang) -> bool:
    """Whether `shown` asks the question of `step`, with its buttons."""
    return rules.text(f"q.{step}", lang) in shown.text and bool(shown.buttons)


async def test_a_stale_press_after_a_typed_answer_answers_nothing(
    user: tuple[ChannelDriver, Lang], rules: RuleSet
) -> None:
    driver, lang = user
    await reach_development(driver, lang)
    development = driver.latest_question()
    assert development.buttons[:2] == ("yes", "no")
    await driver.say(WORDS[lang]["no"])
    # "Yes" pressed on the old keyboard, while "Is it external monitoring?" is open.
    shown = await driver.press("yes", development)
    assert shown[0].text == rules.text("hint.stale_button", lang)
    assert asks(shown[-1], rules, "external_monitoring", lang)  # the open question again
    recorded = await answers(driver)
    assert recorded["contributes_development"] is False
    assert "external_monitoring" not in recorded
    assert (await state_of(driver)).step == "external_monitoring"
    if driver.edits_sent:
        # The typed answer took its buttons; it is not shown as answered "Yes".
        assert await driver.seen(development) == Shown(development.text)


async def test_a_press_after_the_idle_pause_asks_first(
    user: tuple[ChannelDriver, Lang], rules: RuleSet
) -> None:
    driver, lang = user
    await reach_development(driver, lang)
    development = driver.latest_question()
    later = time.time() + 30 * 86400
    driver.engine.clock = lambda: later
    shown = await driver.press("yes", development)
    # Not taken: the bot asks whether to go on with the check it names, or start again.
    title = OPENINGS[driver.role][lang][2]
    assert title in shown[-1].text and shown[-1].buttons == ("continue", "restart")
    state = await state_of(driver)
    assert state.phase == "resume" and "contributes_development" not in state.values()
    if driver.edits_sent:
        # Not marked answered, and its buttons gone.
        assert await driver.seen(development) == Shown(development.text)


async def test_a_press_on_a_question_two_steps_back_answers_nothing(
    user: tuple[ChannelDriver, Lang], rules: RuleSet
) -> None:
    driver, lang = user
    await reach_development(driver, lang)
    development = driver.latest_question()
    await driver.press("no", development)
    answered = await driver.seen(development)
    if driver.edits_sent:
        assert answered.text != development.text and not answered.buttons  # shows the answer
    await driver.press("no")  # external monitoring
    shown = await driver.press("yes", development)
    assert shown[0].text == rules.text("hint.stale_button", lang)
    assert asks(shown[-1], rules, "influence", lang)
    recorded = await answers(driver)
    assert (recorded["contributes_development"], recorded["external_monitoring"]) == (False, False)
    assert "influence" not in recorded
    now = await driver.seen(development)
    assert now == answered  # still shows the answer it had


async def test_a_typed_answer_while_buttons_are_shown_is_taken(
    user: tuple[ChannelDriver, Lang], rules: RuleSet
) -> None:
    driver, lang = user
    await driver.say(OPENINGS[driver.role][lang][0])
    kind = driver.latest_question()
    assert kind.buttons == ("trip", "project", "activity")
    shown = await driver.say(WORDS[lang]["trip"])
    assert rules.text("q.title", lang) in shown[-1].text
    assert (await answers(driver))["kind"] == "trip"
    assert (await state_of(driver)).step == "title"
    if driver.edits_sent:
        # The question stays as it was asked; its buttons went with the answer.
        assert await driver.seen(kind) == Shown(kind.text)


@pytest.mark.parametrize(
    ("channel", "locale", "lang"),
    [(channel, locale, lang) for channel, cases in LOCALE_CASES.items() for locale, lang in cases],
)
async def test_the_language_comes_from_the_platform_locale(
    servers: Loopback, rules: RuleSet, channel: str, locale: str | None, lang: Lang
) -> None:
    async with CHANNELS[channel](locale, servers) as driver:
        # A wave is no greeting in either language: the platform's locale decides.
        shown = await driver.say("👋")
        assert shown[0].text == rules.text("greeting", lang)
        assert rules.text("q.kind", lang) in shown[-1].text
        assert (await state_of(driver)).lang == lang
        assert await driver.engine.conversation_lang(driver.key) == lang


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("lang", LANGS)
async def test_a_greeting_speaks_louder_than_the_locale(
    servers: Loopback, rules: RuleSet, channel: str, lang: Lang
) -> None:
    other: Lang = "en" if lang == "sv" else "sv"
    async with CHANNELS[channel](LOCALES[channel][other], servers) as driver:
        shown = await driver.say(WORDS[lang]["greeting"])
        assert rules.text("q.kind", lang) in shown[-1].text
        assert (await state_of(driver)).lang == lang


@pytest.mark.parametrize("channel", CHANNELS)
async def test_every_press_names_its_question(
    servers: Loopback, monkeypatch: pytest.MonkeyPatch, channel: str
) -> None:
    """The press reaches the engine with the step of the question its button belongs to."""
    async with CHANNELS[channel](LOCALES[channel]["en"], servers) as driver:
        turns: list[Incoming] = []
        handle = driver.engine.handle

        async def watched(key: ConversationKey, incoming: Incoming, **options: Any) -> TurnResult:
            turns.append(incoming)
            return await handle(key, incoming, **options)

        monkeypatch.setattr(driver.engine, "handle", watched)
        await driver.say("hello")
        await driver.press("trip")
        assert turns[-1] == Incoming(choice="trip", step="kind", lang="en")
