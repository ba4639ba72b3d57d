"""After a decision: "varför?" / "details" shows the rest, "dela" / "share" a plain summary to
pass on, typed or pressed, in both languages, on the jsonl contract, the terminal and the
Slack, Telegram and Teams channels (through their fakes)."""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from adapters.terminal import run_plain
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.state import ConversationState
from bot.storage import DecisionRecord
from rules.models import Lang
from tests.conftest import Chat
from tests.drivers import ChannelDriver, Shown
from tests.drivers import jsonl as jsonl_driver
from tests.drivers import rest as rest_driver
from tests.drivers import slack as slack_driver
from tests.drivers import teams as teams_driver
from tests.drivers import telegram as telegram_driver

LOCALES: dict[Lang, str] = {"sv": "sv-SE", "en": "en-GB"}
in_both_languages = pytest.mark.parametrize("lang", ["sv", "en"])
# A check answered by typing, whatever order the questions come in.
ANSWERS: dict[Lang, dict[str, str]] = {
    "sv": {
        "kind": "resa",
        "title": "Styrelsemöte i Bottenviksbågen",
        "department": "Kommunstaben",
        "partner": "Bottenviksbågen",
        "destination": "Uleåborg",
        "contributes_development": "ja",
        "external_monitoring": "nej",
        "influence": "ja",
        "goals": "8",
        "physical_necessary": "ja",
        "digital_alternative": "nej",
        "travellers": "2",
        "travel_mode": "tåg",
        "equality_considered": "ja",
        "eu_funding_checked": "ja",
        "in_annual_plan": "nej",
        "prepared": "jämställdhet, eu-fonder",
        "dormant_resumed": "nej",
        "when": "12 mars",
        "motivation": "Styrelsen beslutar på plats",
        "confirm": "spara",
        "resume": "fortsätt",
    },
    "en": {
        "kind": "trip",
        "title": "Board meeting of the Bothnian Arc",
        "department": "Kommunstaben",
        "partner": "Bothnian Arc",
        "destination": "Oulu",
        "contributes_development": "yes",
        "external_monitoring": "no",
        "influence": "yes",
        "goals": "8",
        "physical_necessary": "yes",
        "digital_alternative": "no",
        "travellers": "2",
        "travel_mode": "train",
        "equality_considered": "yes",
        "eu_funding_checked": "yes",
        "in_annual_plan": "no",
        "prepared": "equality, eu funds",
        "dormant_resumed": "no",
        "when": "12 March",
        "motivation": "The board decides in person",
        "confirm": "save",
        "resume": "continue",
    },
}
YES: dict[Lang, str] = {"sv": "ja", "en": "yes"}
DETAILS_WORD: dict[Lang, str] = {"sv": "varför?", "en": "why?"}
SHARE_WORD: dict[Lang, str] = {"sv": "dela", "en": "share"}


async def answer_a_whole_check(
    engine: Engine, key: ConversationKey, say: Callable[[str], Any], lang: Lang
) -> Any:
    """Answers every question the dialogue asks, by its step, up to the saved decision; what
    the last answer (saving) brought."""
    for _ in range(40):
        state = await engine.storage.load_conversation(key)
        assert state is not None
        step = engine.dialogue.step_id(state)
        assert step is not None, "the check ended before it was saved"
        answer = YES[lang] if step.endswith(".confirm") else ANSWERS[lang][step]
        replies = await say(answer)
        if step == "confirm":
            return replies
    raise AssertionError("the check did not end")


async def a_decision(chat: Chat, lang: Lang) -> dict[str, Any]:
    await chat.say("hej" if lang == "sv" else "hello")
    await answer_a_whole_check(chat.engine, chat.key, chat.say, lang)
    return chat.decision


# --- the jsonl contract -------------------------------------------------------------------


@in_both_languages
async def test_the_details_word_shows_every_reason_advisory_and_guideline(
    engine: Engine, lang: Lang
) -> None:
    chat = Chat(engine, lang=lang)
    decision = await a_decision(chat, lang)
    short = next(r["text"] for r in chat.replies if r["type"] == "decision")
    # The short form leaves out the advisory (not in the annual plan) and most guidelines.
    advisory = decision["advisories"][0]["text"]
    assert advisory not in short
    replies = await chat.say(DETAILS_WORD[lang])
    assert [r["type"] for r in replies] == ["message"]
    details = replies[0]["text"]
    assert details.startswith(
        engine.text("decision.details.title", lang, id=decision["id"], headline="")[:12]
    )
    for item in (*decision["reasons"], *decision["advisories"], *decision["guidelines"]):
        assert item["text"] in details
    for heading in ("reasons", "advisories", "guidelines"):
        assert engine.text(f"decision.{heading}", lang) in details.split("\n")
    # Nothing was started: the conversation is still finished.
    state = await engine.storage.load_conversation(chat.key)
    assert state is not None and not state.in_progress


@in_both_languages
async def test_the_share_word_gives_a_plain_summary_that_only_recommends(
    engine: Engine, lang: Lang
) -> None:
    chat = Chat(engine, lang=lang)
    decision = await a_decision(chat, lang)
    replies = await chat.say(SHARE_WORD[lang])
    assert [r["type"] for r in replies] == ["message"]
    text = replies[0]["text"]
    lines = text.split("\n")
    assert lines[0] == engine.text(
        "decision.share.title", lang, id=decision["id"], title=ANSWERS[lang]["title"]
    )
    assert lines[1] == engine.text("decision.share.travel", lang)
    assert any(reason["text"] in text for reason in decision["reasons"])
    assert lines[-1] == engine.text(
        "decision.share.footer", lang, version=decision["rules_version"]
    )
    # Plain text: none of the chat's emoji or arrows.
    assert "✈️" not in text and "→" not in text


@in_both_languages
async def test_the_buttons_of_the_latest_decision_work_like_the_words(
    engine: Engine, lang: Lang
) -> None:
    chat = Chat(engine, lang=lang)
    decision = await a_decision(chat, lang)
    step = f"decision.{decision['id']}"
    sent = next(r for r in chat.replies if r["type"] == "decision")
    assert sent["step"] == step
    assert [c["value"] for c in sent["choices"]] == ["details", "share"]
    by_word = (await chat.say(DETAILS_WORD[lang]))[0]["text"]
    assert (await chat.send({"choice": "details", "step": step}))[0]["text"] == by_word
    shared = (await chat.say(SHARE_WORD[lang]))[0]["text"]
    assert (await chat.send({"choice": "share", "step": step}))[0]["text"] == shared
    # A client with no steps (REST) presses by value alone.
    assert (await chat.choose("share"))[0]["text"] == shared


async def test_a_press_under_an_older_decision_is_a_stale_button(engine: Engine) -> None:
    chat = Chat(engine, lang="en")
    first = await a_decision(chat, "en")
    await a_decision(chat, "en")
    replies = await chat.send({"choice": "details", "step": f"decision.{first['id']}"})
    assert [r["type"] for r in replies] == ["hint"]
    assert replies[0]["text"] == engine.text("hint.stale_button", "en")


async def test_during_a_check_the_words_are_answers(engine: Engine) -> None:
    chat = Chat(engine, lang="sv")
    await a_decision(chat, "sv")
    await chat.say("ny")
    await chat.say("resa")
    assert chat.step == "title"
    await chat.say("Varför?")
    state = await engine.storage.load_conversation(chat.key)
    assert state is not None and state.answers["title"].label == "Varför?"
    # A decision's button pressed meanwhile answers nothing, and the question is asked again.
    replies = await chat.send({"choice": "details", "step": "decision.1"})
    assert replies[0]["type"] == "hint" and chat.step == "department"


@in_both_languages
async def test_without_a_decision_the_words_say_there_is_none(engine: Engine, lang: Lang) -> None:
    chat = Chat(engine, user=f"new-{lang}", lang=lang)
    for word in (DETAILS_WORD[lang], SHARE_WORD[lang]):
        replies = await chat.say(word)
        assert [r["text"] for r in replies] == [engine.text("decision.none", lang)]
    assert await engine.storage.load_conversation(chat.key) is None


@in_both_languages
async def test_the_summary_to_share_carries_the_motivation(engine: Engine, lang: Lang) -> None:
    key = ConversationKey("terminal", "mia", "mia")
    motivation = {"raw": "Ingen tågförbindelse i tid", "value": "Ingen tågförbindelse i tid"}
    record = DecisionRecord(
        channel="terminal",
        chat="mia",
        user_id="mia",
        role="employee",
        created_at=1_790_000_000.0,
        lang=lang,
        kind="trip",
        title="",
        department="Kommunstaben",
        partner="",
        partner_id=None,
        destination="Tokyo",
        outcome="travel",
        focus_area="other",
        advisories=[],
        reasons=[{"code": "physical_necessary", "text": "Needed.", "section": "S"}],
        guidelines=[],
        answers={"motivation": {**motivation, "label": motivation["raw"]}},
        rules_version=engine.rules_version,
        transcript=[],
    )
    decision_id = await engine.storage.record_decision(key, record, ConversationState(lang=lang))
    replies = await Chat(engine, user="mia", lang=lang).say(SHARE_WORD[lang])
    text = replies[0]["text"]
    assert text.split("\n")[0] == engine.text("decision.share.untitled", lang, id=decision_id)
    assert engine.text("decision.share.motivation", lang, motivation=motivation["raw"]) in text
    assert "• Needed. (S)" in text


# --- the terminal ---------------------------------------------------------------------------


@in_both_languages
async def test_the_terminal_prints_the_details_and_the_summary_to_copy(
    engine: Engine, lang: Lang
) -> None:
    # The answers in the order the dialogue asks them, learnt from a first user.
    probe = Chat(engine, user="probe", lang=lang)
    script: list[str] = []

    async def say(text: str) -> list[dict[str, Any]]:
        script.append(text)
        return await probe.say(text)

    await probe.say(ANSWERS[lang]["kind"])
    await answer_a_whole_check(engine, probe.key, say, lang)
    key = ConversationKey("terminal", "tor", "tor")
    words = [ANSWERS[lang]["kind"], *script, DETAILS_WORD[lang], SHARE_WORD[lang]]
    stdout = io.StringIO()
    await run_plain(engine, key, lang, io.StringIO("\n".join(words) + "\n"), stdout)
    printed = stdout.getvalue().split("\n")
    stored = await engine.storage.last_decision(key)
    assert stored is not None
    decision = printed.index(engine.text(f"decision.headline.{stored.outcome}", lang))
    details = printed.index(engine.text("decision.reasons", lang))
    shared = printed.index(
        engine.text("decision.share.title", lang, id=stored.id, title=stored.title)
    )
    assert decision < details < shared
    # The summary is printed as one block of plain lines, to copy as it is.
    assert printed[shared + 1] == engine.text(f"decision.share.{stored.outcome}", lang)


# --- Slack, Telegram and Teams through their fakes -----------------------------------------

DRIVERS: dict[str, Callable[[str | None], AbstractAsyncContextManager[Any]]] = {
    "slack": slack_driver.open_driver,
    "telegram": telegram_driver.open_driver,
    "teams": teams_driver.open_driver,
}
on_every_chat_channel = pytest.mark.parametrize(
    ("channel", "lang"), [(c, lang) for c in DRIVERS for lang in ("sv", "en")]
)
# The machine contract's clients too (they give the language, not a platform's locale).
CONTRACT_DRIVERS: dict[str, Callable[[str | None], AbstractAsyncContextManager[Any]]] = {
    "jsonl": jsonl_driver.open_driver,
    "rest": rest_driver.open_driver,
}
on_every_channel = pytest.mark.parametrize(
    ("channel", "lang"),
    [(c, lang) for c in (*DRIVERS, *CONTRACT_DRIVERS) for lang in ("sv", "en")],
)


def open_user(channel: str, lang: Lang) -> AbstractAsyncContextManager[Any]:
    if channel in DRIVERS:
        return DRIVERS[channel](LOCALES[lang])
    return CONTRACT_DRIVERS[channel](lang)


def lines_of(shown: Shown) -> list[str]:
    """The lines of a message, Slack's bold markers taken off."""
    return [line.strip("*") for line in shown.text.split("\n")]


def visible_lines(shown: Shown) -> int:
    """The text's lines, and one row of buttons."""
    return len(shown.text.strip("\n").split("\n")) + (1 if shown.buttons else 0)


async def decided(user: ChannelDriver, lang: Lang) -> list[Shown]:
    """A whole check by typing; what the saving answer brought."""
    await user.say("Tripcheck")
    replies: list[Shown] = await answer_a_whole_check(user.engine, user.key, user.say, lang)
    return replies


@on_every_chat_channel
async def test_the_decision_is_short_and_its_buttons_show_details_and_share(
    channel: str, lang: Lang
) -> None:
    async with DRIVERS[channel](LOCALES[lang]) as user:
        replies = await decided(user, lang)
        decision = next(shown for shown in replies if "details" in shown.buttons)
        rules = user.engine.rules
        assert visible_lines(decision) <= rules.short_decision.max_lines, decision.text
        assert decision.buttons == ("details", "share")
        stored = await user.engine.storage.last_decision(user.key)
        assert stored is not None
        lang_of = "sv" if stored.lang == "sv" else "en"
        pressed = user.latest_question()
        details = await user.press("details", pressed)
        [shown] = details
        # Slack and Telegram mark the decision answered like a question; a Teams card stays
        # as it was sent, its buttons still there (a card cannot show an answer in place).
        after = await user.seen(pressed)
        assert after.text.split("\n")[0] == decision.text.split("\n")[0]
        assert after.buttons == (("details", "share") if channel == "teams" else ())
        assert user.engine.text("decision.reasons", lang_of) in lines_of(shown)
        assert stored.advisories[0]["text"] in shown.text
        assert shown.buttons == ("share",)
        shared = await user.press("share", user.latest_question())
        title = user.engine.text("decision.share.title", lang_of, id=stored.id, title=stored.title)
        assert [s.text.split("\n")[0] for s in shared] == [title]
        assert shared[0].buttons == ()


@on_every_channel
async def test_the_words_show_details_and_share_on_every_channel(channel: str, lang: Lang) -> None:
    async with open_user(channel, lang) as user:
        await decided(user, lang)
        stored = await user.engine.storage.last_decision(user.key)
        assert stored is not None
        lang_of = "sv" if stored.lang == "sv" else "en"
        [details] = await user.say(DETAILS_WORD[lang])
        assert all(reason["text"] in details.text for reason in stored.reasons)
        assert user.engine.text("decision.guidelines", lang_of) in lines_of(details)
        [shared] = await user.say(SHARE_WORD[lang])
        assert shared.text.startswith(
            user.engine.text("decision.share.title", lang_of, id=stored.id, title=stored.title)
        )
        assert user.engine.text("decision.share.footer", lang_of, version=stored.rules_version) in (
            shared.text
        )


async def test_in_a_slack_thread_the_words_are_for_the_bot_other_talk_is_not() -> None:
    async with slack_driver.open_driver("en-GB") as driver:
        user = driver.user
        root = slack_driver.new_ts()
        await user.mention("hello", ts=root)
        key = user.key(f"{slack_driver.CHANNEL}:{root}")

        async def reply(text: str) -> list[dict[str, Any]]:
            return await user.reply_in_thread(root, text)

        await answer_a_whole_check(driver.engine, key, reply, "en")
        assert await reply("thanks!") == []
        [details] = await reply("why?")
        assert details["thread_ts"] == root
        assert "*Why:*" in slack_driver.shown_text(details)
        [shared] = await reply("share")
        assert slack_driver.shown_text(shared).startswith("Tripcheck, decision no. ")
