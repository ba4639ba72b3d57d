"""The five scenarios of the cross-channel matrix, through the Slack driver alone (so they can
be lifted into tests/test_channel_matrix.py as they are): what the user sees, and what the
engine's log records."""

from __future__ import annotations

import time

import pytest

from rules.models import Lang
from tests.drivers import Shown
from tests.drivers.slack import open_driver

# A greeting that names no language, so the platform's locale decides.
OPENING = "Tripcheck"
LOCALES: dict[Lang, str] = {"sv": "sv-SE", "en": "en-GB"}
in_both_languages = pytest.mark.parametrize("lang", ["sv", "en"])


@in_both_languages
async def test_a_stale_press_after_a_typed_answer_answers_nothing(lang: Lang) -> None:
    async with open_driver(LOCALES[lang]) as user:
        await user.say(OPENING)
        kind = user.latest_question()
        await user.say(user.engine.text("kind.trip", lang))
        # The typed answer took the buttons away; an old client still shows them.
        assert (await user.seen(kind)).buttons == ()
        replies = await user.press("project", kind)
        assert replies[0].text == user.engine.text("hint.stale_button", lang)
        assert user.engine.text("q.title", lang)[:20] in replies[-1].text
        state = await user.engine.storage.load_conversation(user.key)
        assert state is not None and state.answers["kind"].value == "trip"
        assert state.step == "title"
        assert (await user.seen(kind)).text == kind.text  # not shown as answered "Project"


@in_both_languages
async def test_a_press_after_the_idle_pause_asks_first(lang: Lang) -> None:
    async with open_driver(LOCALES[lang]) as user:
        await user.say(OPENING)
        kind = user.latest_question()
        user.engine.clock = lambda: time.time() + 30 * 86400
        replies = await user.press("trip", kind)
        # Not taken: the engine asks whether to go on; the question is not marked answered
        # and loses its buttons.
        assert "continue" in replies[-1].buttons
        state = await user.engine.storage.load_conversation(user.key)
        assert state is not None and state.phase == "resume" and "kind" not in state.answers
        assert await user.seen(kind) == Shown(kind.text)


@in_both_languages
async def test_a_press_on_a_question_two_steps_back_answers_nothing(lang: Lang) -> None:
    async with open_driver(LOCALES[lang]) as user:
        await user.say(OPENING)
        kind = user.latest_question()
        await user.press("trip", kind)
        await user.say("Board meeting of the Bothnian Arc")
        replies = await user.press("project", kind)
        assert replies[0].text == user.engine.text("hint.stale_button", lang)
        assert user.engine.text("q.department", lang)[:20] in replies[-1].text
        state = await user.engine.storage.load_conversation(user.key)
        assert state is not None and state.step == "department"
        assert state.answers["kind"].value == "trip"
        assert state.answers["title"].label == "Board meeting of the Bothnian Arc"


@in_both_languages
async def test_a_typed_answer_while_buttons_are_shown_is_taken(lang: Lang) -> None:
    async with open_driver(LOCALES[lang]) as user:
        await user.say(OPENING)
        kind = user.latest_question()
        assert set(kind.buttons) >= {"trip", "project", "activity"}
        replies = await user.say(user.engine.text("kind.project", lang))
        assert user.engine.text("q.title", lang)[:20] in replies[-1].text
        state = await user.engine.storage.load_conversation(user.key)
        assert state is not None and state.answers["kind"].value == "project"
        # The question stays as it was asked, without its buttons.
        assert await user.seen(kind) == Shown(kind.text)


@pytest.mark.parametrize(
    ("locale", "lang"),
    [("sv-SE", "sv"), ("sv_FI", "sv"), ("en-GB", "en"), ("fi-FI", "en"), (None, "sv")],
)
async def test_the_language_comes_from_the_platform_locale(locale: str | None, lang: Lang) -> None:
    async with open_driver(locale) as user:
        replies = await user.say(OPENING)
        assert user.engine.text("q.kind", lang) in replies[-1].text
        state = await user.engine.storage.load_conversation(user.key)
        assert state is not None and state.lang == lang
