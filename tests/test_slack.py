"""The Slack app end to end: our server and a fake Slack Web API, over real HTTP on loopback
(and Socket Mode over a loopback WebSocket).

Requests are signed as Slack signs them. The bot answers Slack first and works after, so a
test waits, with a timeout, until the bot has handled every request it acknowledged (or polls
the fake for the calls it expects) before it looks at what was sent; it never sleeps blindly."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import pytest_asyncio
import yaml

from adapters import slack
from adapters.slack_blocks import (
    MAX_LABEL,
    MAX_SECTION,
    QuestionTag,
    decision_blocks,
    plain_text,
    render,
)
from bot.engine import Engine
from bot.messages import (
    Choice,
    CitedLine,
    ClimateRow,
    ConversationKey,
    DecisionDetails,
    DecisionView,
    Outgoing,
)
from bot.settings import Settings
from bot.state import ConversationState
from bot.storage import DecisionRecord, StorageError
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.drivers.slack import (
    APP_TOKEN,
    CHANNEL,
    LOCALES,
    SIGNING_SECRET,
    TOKEN,
    Bot,
    SlackUser,
    buttons,
    event_body,
    has_buttons,
    new_ts,
    shown_text,
    signature_headers,
    slack_settings,
)
from tests.fake_slack import (
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    FakeSlack,
    FakeSocketMode,
    dm_channel,
)
from tests.servers import running
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK
from tripcheck.server import create_app

ROOT = Path(__file__).resolve().parents[1]
# The module's tests share one event loop, so they can share the servers (see Switchboard).
shared_loop = pytest.mark.asyncio(loop_scope="module")


class Switchboard:
    """One loopback HTTP server for the module, passing each test's requests to that test's
    app. (Starting and stopping uvicorn costs about 0.15 s a time, so a server per test would
    make this file several times slower.) Each test's app still runs its own lifespan."""

    def __init__(self) -> None:
        self.app: Any = None
        self.url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await self.app(scope, receive, send)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeSlack]:
    api = FakeSlack(TOKEN, locales=LOCALES, app_token=APP_TOKEN)
    async with running(api.app) as url:
        api.url = url
        yield api


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def switchboard() -> AsyncIterator[Switchboard]:
    board = Switchboard()
    async with running(board) as url:
        board.url = url
        yield board


@pytest_asyncio.fixture(loop_scope="module")
async def bot(
    rules: RuleSet, place_index: PlaceIndex, fake: FakeSlack, switchboard: Switchboard
) -> AsyncIterator[Bot]:
    """Our app (the Slack channel only) on a fresh in-memory database, and a clean fake."""
    fake.reset(LOCALES)
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage, places=place_index)
    settings = slack_settings(f"{fake.url}/api/")
    channel = slack.channel(settings, engine)
    assert channel is not None
    app = create_app(settings, engine, [channel])
    # The app's lifespan starts and stops the channel and closes the engine's storage.
    async with app.router.lifespan_context(app), httpx.AsyncClient(timeout=2.0) as http:
        switchboard.app = app
        yield Bot(switchboard.url, fake, engine, channel, http)
        switchboard.app = None


@pytest.fixture
def anna(bot: Bot) -> SlackUser:
    return SlackUser(bot)


# --- a whole check ------------------------------------------------------------------------

TITLE = "Study visit: R&D <Lab> & social economy"
# How each question is answered: pressing a button, ticking goals, or typing.
BUTTON_CHECK: list[tuple[str, str, Any]] = [
    ("kind", "press", "trip"),
    ("title", "type", TITLE),
    ("department", "type", "Arbetsmarknadsförvaltningen"),
    ("partner", "type", "Sweden Emilia Romagna Network"),
    ("destination", "press", "Bologna"),
    # One checklist yes is enough: influence is not asked after it.
    ("contributes_development", "press", "no"),
    ("external_monitoring", "press", "yes"),
    ("goals", "tick", ["9", "2"]),
    ("physical_necessary", "press", "yes"),
    ("travellers", "type", "3"),
    ("travel_mode", "press", "flight"),
    # Equality and the annual plan: one list to tick.
    ("prepared", "tick", ["1", "2"]),
]


@shared_loop
async def test_a_whole_check_in_a_dm_by_buttons_checkboxes_and_typing(
    anna: SlackUser, bot: Bot
) -> None:
    replies = await anna.say("hello")
    assert [m["channel"] for m in replies] == [anna.dm, anna.dm]
    assert "thread_ts" not in replies[-1]
    assert [e["text"]["text"] for _, e in buttons(replies[-1])] == ["Trip", "Project", "Activity"]
    for step, how, answer in BUTTON_CHECK:
        assert await anna.step() == step
        if how == "press":
            question = anna.latest_question()
            await anna.press(answer, question)
            label = next(e["text"]["text"] for _, e in buttons(question) if e["value"] == answer)
            after = bot.fake.messages[(anna.dm, question["ts"])]
            # The question now shows what was chosen, and has no buttons left to press.
            assert not has_buttons(after)
            assert shown_text(after).endswith(f"— *{label}*")
        elif how == "tick":
            question = anna.latest_question()
            await anna.tick_and_press_done(answer, question)
            after = bot.fake.messages[(anna.dm, question["ts"])]
            assert not has_buttons(after)
            ticked = ", ".join(f"{n} [^,*]+" for n in sorted(answer))
            assert re.search(rf"— \*{ticked}\*$", shown_text(after))
        else:
            await anna.say(answer)
    summary = anna.latest_question()
    assert "R&amp;D &lt;Lab&gt; &amp; social economy" in shown_text(summary)
    assert "<Lab>" not in shown_text(summary)
    replies = await anna.press("save", summary)

    decision = next(m for m in replies if m["blocks"][0]["type"] == "header")
    assert decision["blocks"][0]["text"]["text"] == "Recommendation: travel ✈️"
    shown = shown_text(decision)
    # The short form: reasons with their sections, no headings, one climate line.
    assert "*Why:*" not in shown and re.search(r"• .+ _\(.+\)_", shown)
    assert re.search(r"Climate: flight as planned ≈ [\d,]+ kg CO2e", shown)
    assert "digital meeting ≈" not in shown
    footer = next(b for b in decision["blocks"] if b["type"] == "context")
    assert footer["elements"][0]["text"] == bot.engine.text("decision.recommends", "en")
    assert [e["value"] for _, e in buttons(decision)] == ["details", "share"]
    stored = await bot.engine.storage.last_decision(anna.key())
    assert stored is not None and stored.outcome == "travel" and stored.focus_area == "eu"
    assert stored.channel == "slack" and stored.user_id == anna.user_id
    assert stored.title == TITLE  # as typed, not as Slack escaped it
    assert f"no. {stored.id}" in shown_text(replies[-1])
    # No question anywhere is left with buttons: pressed ones show the answer, typed-over
    # ones lost theirs. Only the decision's Details and Share are there to press.
    assert [m["ts"] for m in bot.fake.posted(anna.dm) if has_buttons(m)] == [decision["ts"]]


@shared_loop
async def test_every_question_can_be_answered_by_typing_in_swedish(bot: Bot) -> None:
    sven = SlackUser(bot, "U0SVEN")
    replies = await sven.say("Tripcheck")
    assert "Vad gäller det?" in shown_text(replies[-1])
    for step, text in SWEDISH_CHECK:
        assert await sven.step() == step
        await sven.say(text)
    assert await sven.step() == "confirm"
    replies = await sven.say("spara")
    decision = next(m for m in replies if m["blocks"][0]["type"] == "header")
    assert decision["blocks"][0]["text"]["text"] == "Rekommendation: mötas digitalt 💻"
    assert "Klimat: att mötas digitalt sparar ≈" in shown_text(decision)
    stored = await bot.engine.storage.last_decision(sven.key())
    assert stored is not None and stored.outcome == "digital" and stored.lang == "sv"
    assert [m["ts"] for m in bot.fake.posted(sven.dm) if has_buttons(m)] == [decision["ts"]]


@shared_loop
async def test_goals_done_with_nothing_ticked_answers_none(anna: SlackUser) -> None:
    await anna.say("hello")
    for step, text in ENGLISH_CHECK:
        if step == "goals":
            break
        await anna.say(text)
    assert await anna.step() == "goals"
    question = anna.latest_question()
    await anna.tick_and_press_done([], question)
    assert await anna.step() not in (None, "goals")
    state = await anna.bot.engine.storage.load_conversation(anna.key())
    assert state is not None and state.answers["goals"].value == []
    assert shown_text(anna.bot.fake.messages[(anna.dm, question["ts"])]).endswith("— *None*")


# --- channels, threads and the slash command ----------------------------------------------


@shared_loop
async def test_a_mention_starts_a_check_in_a_thread_and_replies_continue_it(
    anna: SlackUser, bot: Bot
) -> None:
    root = new_ts()
    chat = f"{CHANNEL}:{root}"
    replies = await anna.mention("hello", ts=root)
    assert [(m["channel"], m.get("thread_ts")) for m in replies] == [(CHANNEL, root)] * 2
    assert await anna.step(chat) == "kind"

    # Someone else's buttons answer nothing for them, and leave the question as it is.
    bertil = SlackUser(bot, "U0BERTIL")
    question = anna.latest_question(CHANNEL)
    calls = len(bot.fake.calls)
    assert await bertil.press("project", question) == []
    assert len(bot.fake.calls) == calls and await bertil.step(chat) is None

    await anna.press("trip", question)
    assert await anna.step(chat) == "title"
    replies = await anna.reply_in_thread(root, "Board meeting")
    assert [m.get("thread_ts") for m in replies] == [root]
    assert await anna.step(chat) == "department"

    # Talk that is not the user's check is left alone: someone else in the thread, the
    # channel itself, another thread.
    assert await bertil.reply_in_thread(root, "Kommunstaben") == []
    assert await anna.say("lunch?", channel=CHANNEL, channel_type="channel") == []
    assert await anna.reply_in_thread(new_ts(), "Kommunstaben") == []
    assert await bertil.step(chat) is None and await anna.step(chat) == "department"


@shared_loop
async def test_a_mention_inside_the_thread_is_handled_once(anna: SlackUser, bot: Bot) -> None:
    root = new_ts()
    await anna.mention("hello", ts=root)
    # Slack sends a mention in a thread both as app_mention and as a channel message.
    ts = new_ts()
    mention = f"<@{BOT_USER_ID}> trip"
    await bot.send_event(
        {
            "type": "message",
            "channel": CHANNEL,
            "channel_type": "channel",
            "user": anna.user_id,
            "text": mention,
            "ts": ts,
            "thread_ts": root,
        }
    )
    replies = await anna.mention("trip", ts=ts, thread_ts=root)
    assert await anna.step(f"{CHANNEL}:{root}") == "title"
    assert len(replies) == 1


@shared_loop
async def test_after_a_check_in_a_thread_only_new_restarts_it(anna: SlackUser) -> None:
    root = new_ts()
    await anna.mention("hello", ts=root)
    replies = await anna.reply_in_thread(root, "cancel")
    assert shown_text(replies[0]).startswith("Cancelled")
    assert await anna.reply_in_thread(root, "thanks!") == []
    replies = await anna.reply_in_thread(root, "new")
    assert await anna.step(f"{CHANNEL}:{root}") == "kind" and replies


@shared_loop
async def test_the_slash_command_opens_the_dm_and_starts_a_check(anna: SlackUser, bot: Bot) -> None:
    response = await anna.command("")
    assert response.text == ""  # acknowledged at once, without waiting for anything
    # Said where the command was typed (only the user sees it); the check goes on in the DM.
    [said] = bot.fake.calls_to("response_url")
    assert said["text"] == "I've written to you in our direct messages."
    assert said["response_type"] == "ephemeral"
    assert bot.fake.calls_to("conversations.open")[-1]["users"] == anna.user_id
    replies = anna.new_messages()
    assert [m["channel"] for m in replies] == [anna.dm, anna.dm]
    assert await anna.step() == "kind"

    await anna.command("status", channel_id=anna.dm)
    assert len(bot.fake.calls_to("response_url")) == 1  # typed in the DM: nothing to point at
    replies = anna.new_messages()
    assert "You have no recorded decisions yet." in shown_text(replies[0])
    assert await anna.step() == "kind"
    await anna.command("help", channel_id=anna.dm)
    assert "help" in shown_text(anna.new_messages()[0]).lower()
    await anna.command("cancel", channel_id=anna.dm)
    assert shown_text(anna.new_messages()[0]).startswith("Cancelled")
    assert await anna.step() is None
    assert len(bot.fake.calls_to("conversations.open")) == 1  # the DM is remembered


# --- delivery and security ----------------------------------------------------------------


@pytest.mark.parametrize("request_kind", ["forged", "unsigned", "stale"])
@shared_loop
async def test_forged_unsigned_or_stale_requests_get_401_and_change_nothing(
    anna: SlackUser, bot: Bot, request_kind: str
) -> None:
    body = json.dumps(event_body(anna.message("hello"))).encode()
    variants: dict[str, dict[str, Any]] = {
        "forged": {"secret": "not-the-signing-secret"},
        "unsigned": {"secret": None},
        # Slack's window is five minutes: a request signed six minutes ago is a replay.
        "stale": {"timestamp": int(time.time()) - 6 * 60},
    }
    response = await bot.post(body, "application/json", **variants[request_kind])
    assert response.status_code == 401
    await asyncio.wait_for(bot.slack.settled(), 5)
    assert bot.fake.calls_to("chat.postMessage") == []
    assert await bot.engine.storage.load_conversation(anna.key()) is None


@shared_loop
async def test_a_retried_event_changes_nothing(anna: SlackUser, bot: Bot) -> None:
    body = json.dumps(event_body(anna.message("hello"), "Ev0RETRIED")).encode()
    await bot.deliver(body, "application/json")
    posted = len(bot.fake.calls_to("chat.postMessage"))
    state = await bot.engine.storage.load_conversation(anna.key())
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    await bot.deliver(body, "application/json", headers=retry)
    assert len(bot.fake.calls_to("chat.postMessage")) == posted == 2
    assert await bot.engine.storage.load_conversation(anna.key()) == state


@pytest.mark.parametrize(
    "fields",
    [
        {"user": BOT_USER_ID, "bot_id": BOT_ID},  # the bot's own message
        {"user": "U0OTHERBOT", "bot_id": "B0OTHER", "subtype": "bot_message"},
        {"subtype": "message_changed"},
        {"subtype": "channel_join"},
    ],
)
@shared_loop
async def test_messages_not_typed_by_a_person_are_ignored(
    anna: SlackUser, bot: Bot, fields: dict[str, Any]
) -> None:
    await bot.send_event(anna.message("hello", **fields))
    assert bot.fake.calls_to("chat.postMessage") == []
    assert await bot.engine.storage.load_conversation(anna.key()) is None


@shared_loop
async def test_a_second_press_or_an_old_question_answers_nothing(anna: SlackUser, bot: Bot) -> None:
    await anna.say("hello")
    question = anna.latest_question()  # as a slow client still shows it, buttons and all
    await anna.press("trip", question)
    replies = await anna.press("project", question)
    # The old button answers nothing: a short line, and the open question again.
    assert shown_text(replies[0]) == bot.engine.text("hint.stale_button", "en")
    assert shown_text(replies[-1]).startswith(bot.engine.text("q.title", "en")[:20])
    state = await bot.engine.storage.load_conversation(anna.key())
    assert state is not None and state.answers["kind"].value == "trip" and state.step == "title"
    assert not has_buttons(bot.fake.messages[(anna.dm, question["ts"])])


@shared_loop
async def test_a_typed_answer_removes_the_buttons_of_its_question(
    anna: SlackUser, bot: Bot
) -> None:
    await anna.say("hello")
    question = anna.latest_question()
    await anna.say("project")
    after = bot.fake.messages[(anna.dm, question["ts"])]
    assert not has_buttons(after) and shown_text(after) == shown_text(question)


@shared_loop
async def test_a_press_after_a_long_pause_is_not_shown_as_answered(
    anna: SlackUser, bot: Bot
) -> None:
    await anna.say("hello")
    question = anna.latest_question()
    bot.engine.clock = lambda: time.time() + 30 * 86400
    replies = await anna.press("trip", question)
    # The engine first asks whether to go on, so "trip" is not taken as the answer yet.
    assert await anna.step() == "resume"
    assert "continue" in [element["value"] for _, element in buttons(replies[-1])]
    after = bot.fake.messages[(anna.dm, question["ts"])]
    assert not has_buttons(after) and shown_text(after) == shown_text(question)
    # Going on asks the question again, with its buttons.
    again = await anna.press("continue")
    assert has_buttons(again[-1]) and await anna.step() == "kind"


@shared_loop
async def test_a_failing_slack_call_does_not_stop_the_turn(anna: SlackUser, bot: Bot) -> None:
    await anna.say("hello")
    bot.fake.failures["chat.update"] = "cant_update_message"
    replies = await anna.press("trip")
    assert await anna.step() == "title" and len(replies) == 1


@shared_loop
async def test_an_event_is_handled_even_when_its_delivery_cannot_be_recorded(
    anna: SlackUser, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: Any) -> bool:
        raise StorageError("the database is locked")

    monkeypatch.setattr(bot.engine.storage, "claim_delivery", unavailable)
    replies = await anna.say("hello")
    assert len(replies) == 2 and await anna.step() == "kind"


@shared_loop
async def test_a_press_that_fails_keeps_its_buttons_to_press_again(
    anna: SlackUser, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await anna.say("hello")
    question = anna.latest_question()

    @contextlib.asynccontextmanager
    async def unavailable(*args: Any) -> AsyncIterator[Any]:
        raise StorageError("disk I/O error")
        yield

    with monkeypatch.context() as patched:
        patched.setattr(bot.engine.storage, "turn", unavailable)
        [failed] = await anna.press("trip", question)
    # The system failed, not the user: they are told so, and the question is as it was.
    assert shown_text(failed) == f":warning: {bot.engine.text('error.storage', 'en')}"
    assert bot.fake.messages[(anna.dm, question["ts"])]["blocks"] == question["blocks"]
    await anna.press("trip", question)
    assert await anna.step() == "title"
    assert not has_buttons(bot.fake.messages[(anna.dm, question["ts"])])


@shared_loop
async def test_a_replayed_slash_command_is_one_turn(anna: SlackUser, bot: Bot) -> None:
    form = {
        "command": "/tripcheck",
        "text": "",
        "user_id": anna.user_id,
        "channel_id": "C0GENERAL",
        "team_id": TEAM_ID,
        "response_url": bot.fake.response_url_for(1),
    }
    body = urlencode(form).encode()
    # Slack gives commands no id: the same signed request, sent four times in its window.
    headers = signature_headers(body)
    for _ in range(4):
        await bot.deliver(body, "application/x-www-form-urlencoded", secret=None, headers=headers)
    assert len(bot.fake.calls_to("response_url")) == 1
    assert len(bot.fake.calls_to("chat.postMessage")) == 2  # the greeting and one question
    state = await bot.engine.storage.load_conversation(anna.key())
    assert state is not None and len(state.transcript) <= 1
    # The same command typed again is a request of its own (signed anew) and is handled.
    await anna.command("status", channel_id=anna.dm)
    assert "You have no recorded decisions yet." in shown_text(anna.new_messages()[0])


@shared_loop
async def test_a_replayed_press_is_one_turn(anna: SlackUser, bot: Bot) -> None:
    await anna.say("hello")
    question = anna.latest_question()
    block, element = next((b, e) for b, e in buttons(question) if e["value"] == "trip")
    payload = anna.action_payload(question, block, element)
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signature_headers(body)
    posted = len(bot.fake.calls_to("chat.postMessage"))
    for _ in range(3):
        await bot.deliver(body, "application/x-www-form-urlencoded", secret=None, headers=headers)
    # One answer and the next question; the replays add no "earlier question" hint.
    assert len(bot.fake.calls_to("chat.postMessage")) == posted + 1
    assert await anna.step() == "title"


def signed_with(body: bytes, stamp: str) -> dict[str, str | bytes]:
    """Headers signed as Slack would sign them, whatever the timestamp says (sent as bytes,
    as a client may send any byte in a header)."""
    raw = stamp.encode("latin-1")
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + raw + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": raw, "X-Slack-Signature": f"v0={digest.hexdigest()}"}


NESTED_JSON = b"[" * 100_000 + b"]" * 100_000
HUGE_NUMBER = b'{"type": "event_callback", "n": ' + b"9" * 5000 + b"}"
NOT_UTF8 = b'{"type": "event_callback", "text": "\xff\xfe"}'


@pytest.mark.parametrize(
    ("body", "stamp"),
    [
        (b"{}", "soon"),
        (b"{}", ""),
        (b"{}", "\u00b2\u00b3"),  # digits to str.isdigit(), not to int()
        (b"{}", "9" * 5000),
        (b"{}", "-1"),
    ],
    ids=["non-numeric", "empty", "superscript-digits", "5000-digits", "negative"],
)
@shared_loop
async def test_a_malformed_timestamp_gets_401_not_500(bot: Bot, body: bytes, stamp: str) -> None:
    response = await bot.post(
        body, "application/json", secret=None, headers=signed_with(body, stamp)
    )
    assert response.status_code == 401


@shared_loop
async def test_a_signature_that_is_not_ascii_gets_401_not_500(bot: Bot) -> None:
    headers: dict[str, str | bytes] = {
        **signature_headers(b"{}"),
        "X-Slack-Signature": "v0=\u00e5\u00e4\u00f6".encode("latin-1"),
    }
    response = await bot.post(b"{}", "application/json", secret=None, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (NOT_UTF8, "application/json"),
        (NESTED_JSON, "application/json"),
        (HUGE_NUMBER, "application/json"),
        (b"[1, 2]", "application/json"),
        (b"payload=" + NESTED_JSON, "application/x-www-form-urlencoded"),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    ],
    ids=["not-utf8", "nested", "5000-digit-number", "json-list", "nested-payload", "list-payload"],
)
@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@shared_loop
async def test_a_body_bolt_cannot_read_gets_401_unsigned_and_400_signed(
    anna: SlackUser, bot: Bot, body: bytes, content_type: str, signed: bool
) -> None:
    # Verified before anything parses it: unsigned, it is refused unread; signed (only Slack,
    # or someone with the signing secret), it is refused as unreadable. Never a 500.
    response = await bot.post(body, content_type, secret=SIGNING_SECRET if signed else None)
    assert response.status_code == (400 if signed else 401)
    await asyncio.wait_for(bot.slack.settled(), 5)
    assert bot.fake.calls == []


@shared_loop
async def test_a_declared_oversized_body_is_refused_before_it_is_sent(bot: Bot) -> None:
    host, port = bot.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: tripcheck\r\nContent-Type: application/json\r\n"
        f"Content-Length: {200 * 1024 * 1024}\r\n\r\n"
    )
    writer.write(head.encode() + b"{")
    await writer.drain()
    # Answered without the 200 MB ever being sent.
    status = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status.split()[1] == b"413"


@shared_loop
async def test_an_oversized_request_is_refused(anna: SlackUser, bot: Bot) -> None:
    event = anna.message("x" * (slack.MAX_BODY + 1))
    response = await bot.post(json.dumps(event_body(event)).encode(), "application/json")
    assert response.status_code == 413
    assert await bot.engine.storage.load_conversation(anna.key()) is None


@pytest.mark.parametrize("request_kind", ["event", "button", "command"])
@shared_loop
async def test_slack_gets_its_answer_before_slow_storage_is_done(
    anna: SlackUser, bot: Bot, monkeypatch: pytest.MonkeyPatch, request_kind: str
) -> None:
    await anna.say("hello")
    question = anna.latest_question()
    storage = bot.engine.storage
    gate = asyncio.Event()
    load = storage.load_conversation

    async def slow_load(key: ConversationKey) -> ConversationState | None:
        await gate.wait()
        return await load(key)

    turn = storage.turn

    @contextlib.asynccontextmanager
    async def slow_turn(key: ConversationKey) -> AsyncIterator[Any]:
        await gate.wait()
        async with turn(key) as tx:
            yield tx

    monkeypatch.setattr(storage, "load_conversation", slow_load)
    monkeypatch.setattr(storage, "turn", slow_turn)
    calls = len(bot.fake.calls)
    if request_kind == "event":
        body = json.dumps(event_body(anna.message("project"))).encode()
        content_type = "application/json"
    elif request_kind == "button":
        block, element = buttons(question)[1]
        payload = anna.action_payload(question, block, element)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        form = {
            "command": "/tripcheck",
            "text": "status",
            "user_id": anna.user_id,
            "channel_id": "C0GENERAL",
            "team_id": TEAM_ID,
        }
        body, content_type = urlencode(form).encode(), "application/x-www-form-urlencoded"
    started = time.monotonic()
    try:
        response = await bot.post(body, content_type)
        assert response.status_code == 200 and time.monotonic() - started < 1.5
        assert [c.method for c in bot.fake.calls[calls:]] in ([], ["conversations.open"])
    finally:
        gate.set()  # else a failing bot would hold the request, and the server, forever
    await bot.fake.wait_for(
        lambda: any(c.method == "chat.postMessage" for c in bot.fake.calls[calls:])
    )


# --- App Home and language ------------------------------------------------------------------


def decision_record(title: str, outcome: str, created_at: float, **fields: Any) -> DecisionRecord:
    values: dict[str, Any] = {
        "channel": "slack",
        "chat": "D0ANNA",
        "user_id": "U0ANNA",
        "role": "employee",
        "created_at": created_at,
        "lang": "en",
        "kind": "trip",
        "title": title,
        "department": "Kommunstaben",
        "partner": "",
        "partner_id": None,
        "destination": "Oulu",
        "outcome": outcome,
        "focus_area": "regional_arctic",
        "advisories": [],
        "reasons": [],
        "guidelines": [],
        "answers": {},
        "rules_version": "test",
        "transcript": [],
    }
    values.update(fields)
    return DecisionRecord.model_validate(values)


async def open_home(bot: Bot, user: str, tab: str = "home") -> dict[str, Any] | None:
    bot.fake.homes.pop(user, None)
    event = {"type": "app_home_opened", "user": user, "channel": dm_channel(user), "tab": tab}
    await bot.send_event({**event, "event_ts": new_ts()})
    return bot.fake.homes.get(user)


@shared_loop
async def test_app_home_shows_the_latest_decisions(anna: SlackUser, bot: Bot) -> None:
    storage = bot.engine.storage
    state = ConversationState(lang="en")
    may, june = 1_779_000_000.0, 1_781_000_000.0
    await storage.record_decision(
        anna.key(), decision_record("Oulu <board> & co", "digital", may), state
    )
    await storage.record_decision(
        anna.key(), decision_record("Bologna visit", "travel", june), state
    )
    others = [
        decision_record("Someone else's", "travel", june, user_id="U0BERTIL"),
        decision_record("In the terminal", "travel", june, channel="terminal"),
    ]
    for record in others:
        await storage.record_decision(anna.key(), record, state)

    view = await open_home(bot, anna.user_id)
    assert view is not None and view["type"] == "home"
    lines = [line for line in shown_text(view).splitlines() if line.startswith("no. ")]
    assert lines == [
        "no. 2 · 2026-06-09 · Bologna visit — travel",
        "no. 1 · 2026-05-17 · Oulu &lt;board&gt; &amp; co — meet digitally",
    ]
    assert await open_home(bot, anna.user_id, tab="messages") is None
    empty = await open_home(bot, "U0SVEN")
    assert empty is not None and "Du har inga sparade kontroller ännu." in shown_text(empty)
    # No Slack language set: the server's default language (Swedish here).
    bot.fake.locales["U0NOLOCALE"] = ""
    unset = await open_home(bot, "U0NOLOCALE")
    assert unset is not None and "Du har inga sparade kontroller ännu." in shown_text(unset)


@pytest.mark.parametrize(
    ("locale", "question"),
    [
        ("sv-SE", "Vad gäller det?"),
        ("sv-FI", "Vad gäller det?"),
        ("en-GB", "What is it about?"),
        ("fi-FI", "What is it about?"),
        ("", "Vad gäller det?"),  # no locale set: the engine's default language
    ],
)
@shared_loop
async def test_the_language_follows_the_slack_locale(bot: Bot, locale: str, question: str) -> None:
    person = SlackUser(bot, "U0LOCALE")
    bot.fake.locales[person.user_id] = locale
    replies = await person.say("Tripcheck")
    assert question in shown_text(replies[-1])
    await person.say("trip")
    # The locale is asked once, then remembered (also when the user has none).
    assert [c["user"] for c in bot.fake.calls_to("users.info")] == [person.user_id]


# --- the app, its settings and its manifest -------------------------------------------------


@shared_loop
async def test_the_server_serves_slack_when_it_is_configured(
    rules: RuleSet, fake: FakeSlack
) -> None:
    storage = await SQLiteStorage.open(":memory:")
    fake.reset(LOCALES)
    # Without the trailing slash slack_sdk expects: the channel adds it.
    settings = slack_settings(f"{fake.url}/api")
    app = create_app(settings, Engine(rules, storage))
    async with running(app) as url, httpx.AsyncClient() as client:
        ready = await client.get(f"{url}/readyz")
        assert "slack" in ready.json()["channels"]
        # Slack checks a new Request URL with a signed challenge.
        body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
        headers = {"Content-Type": "application/json", **signature_headers(body.encode())}
        response = await client.post(f"{url}/slack/events", content=body, headers=headers)
        assert response.status_code == 200 and response.json() == {"challenge": "c-123"}
        body = json.dumps(event_body(SlackUser.message_event("U0ANNA", "hello")))
        headers = {"Content-Type": "application/json", **signature_headers(body.encode())}
        response = await client.post(f"{url}/slack/events", content=body, headers=headers)
        assert response.status_code == 200
        await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)
    assert fake.calls_to("chat.postMessage")[0]["channel"] == dm_channel("U0ANNA")


@shared_loop
async def test_the_channel_is_off_without_its_credentials(
    rules: RuleSet, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage)
    caplog.set_level(logging.INFO, logger="tripcheck.slack")
    assert slack.channel(Settings.model_validate({"SLACK_BOT_TOKEN": TOKEN}), engine) is None
    assert "channel off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable it" in caplog.text
    await storage.close()


@shared_loop
async def test_socket_mode_takes_events_over_a_websocket_instead_of_http(
    rules: RuleSet, fake: FakeSlack
) -> None:
    fake.reset(LOCALES)
    settings = Settings.model_validate(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": f"{fake.url}/api/",
        }
    )
    storage = await SQLiteStorage.open(":memory:")
    channel = slack.channel(settings, Engine(rules, storage))
    assert channel is not None and channel.routes == []  # Slack sends nothing over HTTP
    app = create_app(settings, channel.engine, [channel])
    async with FakeSocketMode() as socket:
        fake.socket_url = socket.url
        async with app.router.lifespan_context(app):
            ack = await socket.push(event_body(SlackUser.message_event("U0ANNA", "hello")))
            assert set(ack) == {"envelope_id"}  # acknowledged, with nothing more to say
            await fake.wait_for(lambda: len(fake.calls_to("chat.postMessage")) == 2)
        fake.socket_url = ""
    assert fake.calls_to("apps.connections.open")
    assert fake.calls_to("chat.postMessage")[0]["channel"] == dm_channel("U0ANNA")


def test_the_manifest_asks_for_exactly_what_the_code_uses() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == slack.BOT_SCOPES
    events = manifest["settings"]["event_subscriptions"]
    assert set(events["bot_events"]) == slack.BOT_EVENTS
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == slack.SLASH_COMMAND
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    for url in (events["request_url"], interactivity["request_url"], command["url"]):
        assert url == f"https://YOUR-HOST{slack.EVENTS_PATH}"
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"]
    assert not home["messages_tab_read_only_enabled"]


@pytest.mark.parametrize("name", ["slack.py", "slack_blocks.py"])
def test_the_slack_channel_uses_only_the_engines_public_api(name: str) -> None:
    code = (ROOT / "adapters" / name).read_text(encoding="utf-8")
    for internal in ("engine.storage", "engine.dialogue", "engine.rules", "default_lang"):
        assert internal not in code, internal
    assert "RuleSet" not in code and "decision.get(" not in code


def test_every_slack_text_exists_in_both_languages(rules: RuleSet) -> None:
    code = "".join(
        (ROOT / "adapters" / name).read_text() for name in ("slack.py", "slack_blocks.py")
    )
    used = set(re.findall(r"""["'](slack\.[a-z0-9_.]+)["']""", code))
    assert used >= {"slack.done", "slack.home.entry", "slack.command.opened"}
    for text_id in used:
        assert text_id in rules.texts["sv"] and text_id in rules.texts["en"], text_id


# --- Block Kit rendering ------------------------------------------------------------------


def test_what_slack_sends_is_read_as_typed() -> None:
    received = "R&amp;D &lt;Lab&gt; at <https://lulea.se|lulea.se> for <@U0ANNA> <https://x.se>"
    assert plain_text(received) == "R&D <Lab> at lulea.se for  https://x.se"


def test_long_texts_and_labels_keep_to_slack_limits(rules: RuleSet) -> None:
    long_text = "\n".join(["R&D " * 40] * 100 + ["x&" * 2000])
    message = render(Outgoing("message", long_text), "U0ANNA", "Done")
    texts = [block["text"]["text"] for block in message.blocks]
    assert len(texts) > 1 and all(len(text) <= MAX_SECTION for text in texts)
    # No escape is cut in two, so the parts read back as the whole.
    shown = "".join(texts).replace("\n", "").replace("&amp;", "&")
    assert shown == long_text.replace("\n", "")
    choices = (Choice("A very long department name " * 5, "dept"), Choice("Huge", "v" * 2001))
    question = Outgoing("question", "Which?", step="department", choices=choices)
    blocks = render(question, "U0ANNA", "Done").blocks
    [(block, button)] = [(b, e) for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(button["text"]["text"]) == MAX_LABEL and button["text"]["text"].endswith("…")
    assert QuestionTag.parse(block["block_id"]) == QuestionTag("U0ANNA", "department")


VIEW = DecisionView(
    headline="Recommendation: meet digitally 💻",
    reasons=(CitedLine("x", "Use <Teams> & video", "(Sustainable work)"),),
    climate="Climate: meeting online saves ≈ 1,234 kg CO2e against the planned flight.",
    guidelines=("Go by train",),
    footer="Tripcheck recommends; it does not approve.",
    more='Type "why?" for more.',
)
DETAILS = DecisionDetails(
    title="Decision no. 7 in detail",
    reasons=(CitedLine("x", "Use <Teams> & video", "(Sustainable work)"),),
    advisories=(CitedLine("y", "Check the partner", "(2.1)"),),
    guidelines=("Go by train",),
    climate_heading="Climate:",
    climate=(
        ClimateRow("digital", "digital meeting", "≈ 0 kg"),
        ClimateRow("train", "train", "≈ 80 kg – lowest reasonable", lowest=True),
        ClimateRow("flight", "flight", "≈ 1,234 kg ← planned", planned=True),
    ),
    climate_note="Avoided by meeting digitally: ≈ 1,234 kg.",
    footer="Tripcheck recommends; it does not approve.",
    headings={"reasons": "Why:", "advisories": "Please note:", "guidelines": "When you travel:"},
)
BUTTONS = (Choice("Details", "details"), Choice("Share", "share"))


def test_a_decision_is_drawn_from_the_engines_view_not_its_dict() -> None:
    # No decision dict at all: everything shown comes from the view the engine rendered.
    reply = Outgoing(
        "decision", "\n".join(VIEW.lines()), step="decision.7", choices=BUTTONS, view=VIEW
    )
    message = render(reply, "U0ANNA", "Done")
    assert message.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": VIEW.headline, "emoji": True},
    }
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert sections == [
        "• Use &lt;Teams&gt; &amp; video _(Sustainable work)_\n"
        "Climate: meeting online saves ≈ 1,234 kg CO2e against the planned flight.\n"
        "→ Go by train"
    ]
    assert message.blocks[-2] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": VIEW.footer}],
    }
    # Details and Share, tagged like a question's buttons with the decision's step.
    actions = message.blocks[-1]
    assert QuestionTag.parse(actions["block_id"]) == QuestionTag("U0ANNA", "decision.7")
    assert [e["value"] for e in actions["elements"]] == ["details", "share"]
    assert message.text.startswith(VIEW.headline) and "why?" in message.text


def test_the_details_are_drawn_from_their_view_with_a_share_button() -> None:
    reply = Outgoing(
        "message",
        "\n".join(DETAILS.lines()),
        step="decision.7",
        choices=BUTTONS[1:],
        details=DETAILS,
    )
    message = render(reply, "U0ANNA", "Done")
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    assert sections == [
        "*Decision no. 7 in detail*",
        "*Why:*\n• Use &lt;Teams&gt; &amp; video _(Sustainable work)_",
        "*Please note:*\n• Check the partner _(2.1)_",
        "*When you travel:*\n• Go by train",
        "*Climate:*\n• digital meeting ≈ 0 kg\n• train ≈ 80 kg – lowest reasonable\n"
        "• *flight ≈ 1,234 kg ← planned*\nAvoided by meeting digitally: ≈ 1,234 kg.",
    ]
    assert [e["value"] for e in message.blocks[-1]["elements"]] == ["share"]


def test_a_decision_without_reasons_or_climate_shows_only_what_it_has() -> None:
    bare = DecisionView(
        headline="Rekommendation: resa ✈️",
        reasons=(),
        climate=None,
        guidelines=(),
        footer="Tripcheck rekommenderar; det är inget beslut.",
        more="Skriv ”varför?”.",
    )
    assert [block["type"] for block in decision_blocks(bare)] == ["header", "context"]
