"""A decision about a trip in the past is followed up once on each channel, through the
channel's own proactive send (Slack chat.postMessage, Telegram sendMessage with an inline
keyboard, a Teams proactive card at the serviceUrl the decision was answered from), against
the platform's fake over loopback; answered by its button and by typing, the answer is the
decision's actual outcome and lands in the stats."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.channel import Channel
from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from bot.state import ConversationState, Role
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.drivers import QuestionRef
from tests.followup_checks import check_until_confirm
from tests.test_storage import record
from tripcheck.followups import FollowUpPoller, senders_of

DAY = 86400.0
CHANNELS = ["slack", "telegram", "teams"]


@contextlib.asynccontextmanager
async def channel_user(name: str) -> AsyncIterator[tuple[Any, Channel, Role]]:
    """A user of channel `name` (Swedish), the running channel, and the user's role there."""
    if name == "slack":
        from tests.drivers.slack import open_driver as open_slack

        async with open_slack("sv-SE") as slack:
            yield slack, slack.user.bot.slack, "employee"
    elif name == "telegram":
        from tests.drivers.telegram import open_driver as open_telegram

        async with open_telegram("sv-SE") as telegram:
            yield telegram, telegram.channel, "partner_contact"
    else:
        from tests.drivers.teams import open_driver as open_teams

        async with open_teams("sv-SE") as teams:
            yield teams, teams.channel, "employee"


def latest_question(driver: Any, name: str) -> QuestionRef:
    """The latest message with buttons, as the user's client shows it (on Telegram, a message
    the bot wrote first is shown as it came, as any other)."""
    if name == "telegram":
        for message in reversed(driver.fake.sent(driver.user_id)):
            if message.get("reply_markup"):
                driver.shown[message["message_id"]] = copy.deepcopy(message)
                break
    question: QuestionRef = driver.latest_question()
    return question


async def decided_in_the_past(driver: Any, role: Role, later: float) -> int:
    """A whole check whose last answer goes through the channel; its trip was ten days ago."""
    driver.engine.clock = lambda: later
    trip = datetime.fromtimestamp(later, UTC).date() - timedelta(days=10)
    await check_until_confirm(driver.engine, driver.key, trip, role=role)
    await driver.say("ja")
    decision = await driver.engine.storage.last_decision(driver.key)
    assert decision is not None and decision.happens_on == trip.isoformat()
    return int(decision.id)


@pytest.mark.parametrize("answer", ["button", "text"])
@pytest.mark.parametrize("name", CHANNELS)
async def test_a_past_trip_is_followed_up_once_on_the_channel(
    rules: RuleSet, name: str, answer: str
) -> None:
    async with channel_user(name) as (driver, channel, role):
        # Later than now (the server's own poller, on the real clock, leaves it alone).
        later = time.time() + 100 * DAY
        decision_id = await decided_in_the_past(driver, role, later)
        poller = FollowUpPoller(driver.engine, senders_of([channel]), lease=None)
        assert await poller.run_once(later) == 1
        assert await poller.run_once(later + 60) == 0  # once
        question = latest_question(driver, name)
        assert question.buttons == ("digital", "travelled", "not_held")
        assert "Blev det ett digitalt möte, en resa som planerat" in question.text
        driver.engine.clock = lambda: later + 3600
        if answer == "button":
            shown = await driver.press("digital", question)
        else:
            shown = await driver.say("Det blev ett digitalt möte")
        thanks = rules.text("followup.thanks.digital", "sv", id=decision_id)
        assert any(thanks in message.text for message in shown)
        stored = await driver.engine.storage.get_decision(decision_id)
        assert stored is not None and stored.actual_outcome == "digital"
        assert stored.actual_at == later + 3600
        storage = driver.engine.storage
        assert isinstance(storage, SQLiteStorage)
        (month,) = await storage.decision_log.stats(DecisionFilter())
        assert (month.asked, month.answered, month.confirmed_digital) == (1, 1, 1)
        # Answered: not asked again when it would have been.
        assert await poller.run_once(later + 30 * DAY) == 0


async def test_a_teams_decision_keeps_where_to_write_later() -> None:
    async with channel_user("teams") as (driver, channel, role):
        later = time.time() + 100 * DAY
        decision_id = await decided_in_the_past(driver, role, later)
        poller = FollowUpPoller(driver.engine, senders_of([channel]), lease=None)
        claimed = await driver.engine.storage.claim_followups(
            "test", later, channels=("teams",), lease=1.0, limit=5
        )
        assert [f.decision_id for f in claimed] == [decision_id]
        reference = claimed[0].reference
        assert reference is not None
        assert reference["service_url"] == driver.connector_url
        assert reference["conversation_id"] == driver.key.chat
        assert reference["tenant_id"]
        # The proactive card goes to that conversation, tagged for the person alone.
        assert await poller.run_once(later + 2) == 1
        card = driver.connector.sent[-1]
        assert card.conversation_id == driver.key.chat and card.card is not None


async def test_an_unanswered_follow_up_is_asked_once_more_on_the_channel_then_left(
    rules: RuleSet,
) -> None:
    assert rules.followup is not None
    async with channel_user("telegram") as (driver, channel, role):
        later = time.time() + 100 * DAY
        await decided_in_the_past(driver, role, later)
        poller = FollowUpPoller(driver.engine, senders_of([channel]), lease=None)
        again = later + rules.followup.ask_again_after_days * DAY
        sent = [await poller.run_once(at) for at in (later, again - 1, again, again + 90 * DAY)]
        assert sent == [1, 0, 1, 0]
        questions = [
            m for m in driver.fake.sent(driver.user_id) if "Blev det ett digitalt möte" in m["text"]
        ]
        assert len(questions) == 2


async def test_two_servers_on_one_database_send_a_due_follow_up_once(
    database_url: str, rules: RuleSet
) -> None:
    """Each server starts its poller with it (tripcheck/server.py); on one database (a SQLite
    file, a PostgreSQL database), under the lease and the claims, the due question reaches the
    person once."""
    from adapters import telegram
    from bot.engine import Engine
    from storage import open_url
    from tests.drivers.telegram import USER_ID, telegram_settings
    from tests.fake_telegram import FakeTelegram
    from tests.servers import running
    from tripcheck.server import create_app

    key = ConversationKey("telegram", str(USER_ID), str(USER_ID))
    watcher = await open_url(database_url)
    decided = record(time.time() - 20 * DAY).model_copy(
        update={"channel": key.channel, "chat": key.chat, "user_id": key.user, "title": "Mässa"}
    )
    async with watcher.turn(key) as tx:
        decision_id = await tx.record_decision(decided, ConversationState(lang="sv"))
        await tx.schedule_followup(decision_id, time.time() - 60, "sv")

    def asked() -> list[dict[str, Any]]:
        return [m for m in fake.sent(USER_ID) if "Mässa" in m["text"]]

    async def marked_sent() -> bool:
        stored = await watcher.get_decision(decision_id)
        return stored is not None and stored.followed_up_at is not None

    fake = FakeTelegram("123:abc")
    async with running(fake.app) as api_url:
        settings = telegram_settings(api_url)
        apps = []
        for _ in range(2):
            storage = await open_url(database_url)
            engine = Engine(rules, storage, decision_log=storage.decision_log)
            channel = telegram.channel(settings, engine)
            assert channel is not None
            apps.append(create_app(settings, engine, [channel]))
        async with running(apps[0]), running(apps[1]):
            await fake.wait_for(asked)
            deadline = time.monotonic() + 10
            while not await marked_sent():
                assert time.monotonic() < deadline, "the follow-up was never marked sent"
                await asyncio.sleep(0.01)
        await watcher.close()
        assert len(asked()) == 1
        assert asked()[0]["reply_markup"]["inline_keyboard"]


async def test_in_a_slack_thread_the_question_comes_in_the_thread_and_a_typed_answer_counts(
    rules: RuleSet,
) -> None:
    from tests.drivers.slack import CHANNEL, new_ts

    async with channel_user("slack") as (driver, channel, _):
        thread = new_ts()
        key = ConversationKey("slack", f"{CHANNEL}:{thread}", driver.key.user)
        later = time.time() + 100 * DAY
        driver.engine.clock = lambda: later
        trip = datetime.fromtimestamp(later, UTC).date() - timedelta(days=10)
        await check_until_confirm(driver.engine, key, trip)
        await driver.user.reply_in_thread(thread, "ja")
        decision = await driver.engine.storage.last_decision(key)
        assert decision is not None and decision.chat == key.chat
        poller = FollowUpPoller(driver.engine, senders_of([channel]), lease=None)
        assert await poller.run_once(later) == 1
        (question,) = [
            m
            for m in driver.user.bot.fake.posted(CHANNEL, thread)
            if "Blev det ett digitalt möte" in m["text"]
        ]
        assert question["thread_ts"] == thread
        # A reply in the thread that is no answer is left alone, as other talk there.
        assert await driver.user.reply_in_thread(thread, "Vad bra, ses där!") == []
        replies = await driver.user.reply_in_thread(thread, "det blev inte av")
        thanks = rules.text("followup.thanks.not_held", "sv", id=decision.id)
        assert any(thanks in m["text"] for m in replies)
        stored = await driver.engine.storage.get_decision(decision.id)
        assert stored is not None and stored.actual_outcome == "not_held"
