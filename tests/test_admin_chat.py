"""Admin commands in chat: stats, recent and show for listed admins; a polite no for others."""

from __future__ import annotations

import pytest

from bot.admin_chat import quarter_start
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Chat, Clock
from tests.test_conversation import SWEDISH_CHECK, answer_all

ADMIN = ConversationKey("slack", "D1", "U_ADMIN")
STAFF = ConversationKey("slack", "D2", "U_STAFF")


@pytest.fixture
def admin_engine(rules: RuleSet, storage: SQLiteStorage, clock: Clock) -> Engine:
    return Engine(
        rules,
        storage,
        clock=clock,
        decision_log=storage.decision_log,
        admins={"slack": frozenset({"U_ADMIN"})},
    )


async def record_one(engine: Engine) -> int:
    chat = Chat(engine, user="anna")
    await chat.say("hej")
    await answer_all(chat, SWEDISH_CHECK)
    await chat.say("spara")
    return int(chat.decision["id"])


async def say(engine: Engine, key: ConversationKey, text: str) -> str:
    return "\n".join(r.text for r in (await engine.handle(key, Incoming(text=text))).replies)


async def test_an_admin_gets_stats_recent_and_show(admin_engine: Engine) -> None:
    decision_id = await record_one(admin_engine)
    stats = await say(admin_engine, ADMIN, "stats")
    assert "Den här månaden: 1 kontroller, 1 rekommenderades digitalt möte (100% av dem" in stats
    assert "Det här kvartalet: 1 kontroller" in stats
    recent = await say(admin_engine, ADMIN, "/recent")
    assert f"nr {decision_id}" in recent and "Styrelsemöte i Bottenviksbågen" in recent
    shown = await say(admin_engine, ADMIN, f"show {decision_id}")
    assert "Styrelsemöte i Bottenviksbågen" in shown and "(Inriktning)" in shown
    assert "inget beslut nr 999" in await say(admin_engine, ADMIN, "visa 999")


@pytest.mark.parametrize("command", ["stats", "recent", "show 1", "/stats"])
async def test_anyone_else_is_refused_and_sees_no_admin_data(
    admin_engine: Engine, command: str
) -> None:
    await record_one(admin_engine)
    reply = await say(admin_engine, STAFF, command)
    assert reply == "Tyvärr, det kommandot är bara för Tripchecks administratörer."


async def test_an_admin_command_does_not_disturb_a_check_in_progress(admin_engine: Engine) -> None:
    await say(admin_engine, ADMIN, "hej")
    await say(admin_engine, ADMIN, "resa")
    await say(admin_engine, ADMIN, "stats")
    replies = (await admin_engine.handle(ADMIN, Incoming(text="Mötet"))).replies
    assert replies[-1].step == "department"


def test_quarters_start_on_the_first_of_january_april_july_october() -> None:
    from datetime import date

    assert quarter_start(date(2026, 11, 26)) == date(2026, 10, 1)
    assert quarter_start(date(2026, 3, 31)) == date(2026, 1, 1)
    assert quarter_start(date(2026, 4, 1)) == date(2026, 4, 1)
