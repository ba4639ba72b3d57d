"""Planned vs actual (issue 12 §6): `tripcheck stats` and the admin's dashboard show the CO2e
avoided as planned and as confirmed by the follow-ups, and how many follow-ups were answered;
a decision's page shows its date, motivation and what really happened."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from bot.passwords import hash_password
from bot.state import ConversationState
from bot.storage import DecisionRecord
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.conftest import Clock
from tests.servers import running
from tests.test_admin_web import ADMIN, NOW, PASSWORD, Browser, cheap_scrypt, site_settings
from tests.test_storage import record
from tripcheck.cli import main
from tripcheck.server import create_app

# Logins hash with a small scrypt cost here too (the fixture of tests/test_admin_web.py).
fast_logins = cheap_scrypt

PLANNED = {"planned_mode": "flight", "planned_kg": 250.0, "avoided_kg": 250.0}


@pytest.fixture
async def site(rules: RuleSet, tmp_path: Path) -> AsyncIterator[tuple[SQLiteStorage, Browser]]:
    """The web admin on an empty log, and a browser with an admin signed in."""
    storage = await SQLiteStorage.open(tmp_path / "tripcheck.db")
    await storage.decision_log.save_admin(ADMIN, hash_password(PASSWORD), NOW)
    engine = Engine(rules, storage, clock=Clock(NOW), decision_log=storage.decision_log)
    async with running(create_app(site_settings(), engine)) as url:
        browser = Browser(url)
        assert (await browser.login()).status_code == 303
        yield storage, browser
        await browser.close()


async def followed_up(
    storage: SQLiteStorage, n: int, actual: str | None, *, at: float = NOW - 3600
) -> int:
    """A digital recommendation (250 kg avoided as planned), asked about, answered `actual`."""
    key = ConversationKey("slack", f"D{n}", f"U{n}")
    decided = record(at).model_copy(
        update={
            "channel": key.channel,
            "chat": key.chat,
            "user_id": key.user,
            "outcome": "digital",
            "co2": PLANNED,
            "happens_on": "2026-11-01",
            "happens_precision": "day",
            "motivation": "Behövs för avtalet",
        }
    )
    assert isinstance(decided, DecisionRecord)
    async with storage.turn(key) as tx:
        decision_id = await tx.record_decision(decided, ConversationState(lang="sv"))
        await tx.schedule_followup(decision_id, at, "sv")
    await storage.claim_followups("t", at, channels=("slack",), lease=60, limit=1)
    await storage.followup_sent(decision_id, "t", at, next_due=None)
    if actual is not None:
        async with storage.turn(key) as tx:
            assert await tx.record_actual(decision_id, actual, at + 60)
    return decision_id


def test_stats_show_planned_and_confirmed_co2e_and_answered_follow_ups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.db"

    async def build() -> None:
        storage = await SQLiteStorage.open(db)
        for n, actual in enumerate(["digital", "digital", "travelled", None]):
            await followed_up(storage, n, actual, at=1_790_000_000.0)
        await storage.close()

    asyncio.run(build())
    assert main(["stats", "--format", "json", "--db", str(db)]) == 0
    rows = json.loads(capsys.readouterr().out)
    total = next(row for row in rows if row["month"] == "all")
    assert (total["avoided_kg"], total["confirmed_avoided_kg"]) == (1000.0, 500.0)
    assert (total["asked"], total["answered"], total["confirmed_digital"]) == (4, 3, 2)
    assert main(["stats", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "confirmed_avoided_kg" in table and "answered" in table


async def test_the_dashboard_shows_confirmed_co2e_and_answered_follow_ups(
    site: tuple[SQLiteStorage, Browser],
) -> None:
    storage, admin = site
    before = (await admin.get("/admin")).text
    assert "Follow-ups: 0 of 0 answered." in before
    for n, actual in enumerate(["digital", "not_held", None]):
        await followed_up(storage, n, actual)
    html = (await admin.get("/admin")).text
    assert "Follow-ups: 2 of 3 answered." in html
    assert "Confirmed afterwards: 1 meetings went digital, which avoided 250.0 kg CO2e" in html
    assert '<td class="num confirmed">250.0 kg</td>' in html


async def test_a_decision_page_shows_its_date_motivation_and_what_happened(
    site: tuple[SQLiteStorage, Browser],
) -> None:
    storage, admin = site
    answered = await followed_up(storage, 1, "digital")
    waiting = await followed_up(storage, 2, None)
    page = (await admin.get(f"/admin/decisions/{answered}")).text
    assert '<dd id="happens-on">2026-11-01</dd>' in page
    assert "Behövs för avtalet" in page
    assert '<dd id="actual">digital meeting (' in page
    page = (await admin.get(f"/admin/decisions/{waiting}")).text
    assert '<dd id="actual">not answered yet</dd>' in page


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("sv", "Bekräftat efteråt: 1 möten blev digitala, ≈ 250 kg CO2e undvikna; 2 av 3"),
        ("en", "Confirmed afterwards: 1 meetings went digital, ≈ 250 kg CO2e avoided; 2 of 3"),
    ],
)
async def test_the_admins_chat_stats_show_what_the_follow_ups_confirmed(
    rules: RuleSet, storage: SQLiteStorage, clock: Clock, lang: str, expected: str
) -> None:
    engine = Engine(
        rules,
        storage,
        clock=clock,
        decision_log=storage.decision_log,
        admins={"slack": frozenset({"U_ADMIN"})},
    )
    for n, actual in enumerate(["digital", "not_held", None]):
        await followed_up(storage, n, actual, at=clock.now - 3600)
    admin = ConversationKey("slack", "D_ADMIN", "U_ADMIN")
    turn = await engine.handle(admin, Incoming(text="stats", lang=lang))  # type: ignore[arg-type]
    assert expected in "\n".join(r.text for r in turn.replies)
