"""One contract for every storage backend: each test runs on SQLite and on PostgreSQL
(the throwaway server of tests/pg_server.py; select those with `-m postgres`)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from adapters.admin_auth import PasswordChecker, SharedLoginLimiter, SharedSessions, Signer
from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from bot.passwords import needs_rehash
from bot.retention import DAY, purge_if_due
from bot.state import Answer, ConversationState
from bot.storage import DecisionRecord, StorageError
from storage import Backend, open_url, sqlite_path
from tests.test_storage import KEY, record

JANUARY_LAST_EVENING = datetime(2025, 1, 31, 23, 30, tzinfo=UTC).timestamp()  # Feb in Sweden
MID_MARCH = datetime(2025, 3, 15, 12, 0, tzinfo=UTC).timestamp()


def audit_rows(url: str) -> list[dict[str, Any]]:
    """The audit trail, read straight from the database."""
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            rows = conn.execute("SELECT actor, action, details FROM audit ORDER BY id").fetchall()
    else:
        with psycopg.connect(url) as pg:
            rows = pg.execute("SELECT actor, action, details FROM audit ORDER BY id").fetchall()
    return [{"actor": a, "action": b, "details": json.loads(c)} for a, b, c in rows]


def decision(at: float, **changes: Any) -> DecisionRecord:
    return record(at).model_copy(update=changes)


async def test_a_decision_is_recorded_with_state_and_department(backend: Backend) -> None:
    state = ConversationState(lang="sv", phase="idle", updated_at=5.0)
    decision_id = await backend.record_decision(KEY, record(5.0), state)
    stored = await backend.get_decision(decision_id)
    assert stored is not None and stored.reasons == [{"code": "adds_value"}]
    assert stored.answers == {"title": {"raw": "Möte"}}
    assert await backend.last_department(KEY) == "Kommunstaben"
    loaded = await backend.load_conversation(KEY)
    assert loaded is not None and loaded.updated_at == 5.0
    last = await backend.last_decision(KEY)
    assert last is not None and last.id == decision_id


async def test_a_failed_decision_leaves_nothing_behind(backend: Backend) -> None:
    bad = record(2.0).model_copy(update={"outcome": None})
    with pytest.raises(StorageError):
        await backend.record_decision(KEY, bad, ConversationState(lang="sv"))
    assert await backend.last_decision(KEY) is None
    assert await backend.load_conversation(KEY) is None
    assert await backend.last_department(KEY) is None


async def test_a_conversation_resumes_where_it_stopped(database_url: str) -> None:
    first = await open_url(database_url)
    state = ConversationState(lang="en", phase="asking", step="title", updated_at=3.0)
    state.answers["kind"] = Answer(raw="resa", value="trip", label="Resa")
    await first.save_conversation(KEY, state)
    await first.close()
    again = await open_url(database_url)
    loaded = await again.load_conversation(KEY)
    await again.close()
    assert loaded is not None and loaded.step == "title" and loaded.answers["kind"].value == "trip"


async def test_a_turn_that_fails_writes_nothing(backend: Backend) -> None:
    with pytest.raises(RuntimeError):
        async with backend.turn(KEY) as tx:
            assert await tx.load() is None
            await tx.save(ConversationState(lang="sv", step="title"))
            await tx.record_decision(record(1.0), ConversationState(lang="sv"))
            raise RuntimeError("the dialogue failed")
    assert await backend.load_conversation(KEY) is None
    assert await backend.last_decision(KEY) is None


async def test_a_turn_reads_what_it_wrote_and_commits_at_the_end(backend: Backend) -> None:
    async with backend.turn(KEY) as tx:
        decision_id = await tx.record_decision(record(1.0), ConversationState(lang="sv"))
        assert await tx.last_department() == "Kommunstaben"
        last = await tx.last_decision()
        assert last is not None and last.id == decision_id
    stored = await backend.get_decision(decision_id)
    assert stored is not None


async def test_turns_of_one_conversation_from_two_instances_never_interleave(
    database_url: str,
) -> None:
    # Two backends on one database stand for two processes: every turn reads a counter and
    # writes it plus one; a lost update would leave less than the number of turns.
    instances = [await open_url(database_url) for _ in range(2)]

    async def increment(store: Backend) -> None:
        async with store.turn(KEY) as tx:
            state = await tx.load() or ConversationState(lang="sv")
            await asyncio.sleep(0)  # let the other turns try to get in
            state.failures += 1
            await tx.save(state)

    await asyncio.gather(*(increment(instances[n % 2]) for n in range(20)))
    final = await instances[0].load_conversation(KEY)
    for store in instances:
        await store.close()
    assert final is not None and final.failures == 20


async def test_a_delivery_is_claimed_once_across_instances(database_url: str) -> None:
    instances = [await open_url(database_url) for _ in range(2)]
    claims = await asyncio.gather(
        *(instances[n % 2].claim_delivery("slack", "Ev1", 1.0) for n in range(10))
    )
    other = await instances[0].claim_delivery("slack", "Ev2", 1.0)
    for store in instances:
        await store.close()
    assert sum(claims) == 1 and other


@pytest.mark.parametrize(
    ("where", "titles"),
    [
        (DecisionFilter(), {"Möte i Uleåborg", "Konferens i Bryssel", "Studiebesök"}),
        (DecisionFilter(outcome="digital"), {"Konferens i Bryssel"}),
        (DecisionFilter(channel="slack"), {"Studiebesök"}),
        (DecisionFilter(department="kommun"), {"Möte i Uleåborg"}),
        (DecisionFilter(partner="SERN"), {"Konferens i Bryssel"}),
        (DecisionFilter(focus_area="eu"), {"Konferens i Bryssel"}),
        (DecisionFilter(since=date(2025, 3, 1)), {"Studiebesök"}),
        (DecisionFilter(until=date(2025, 2, 28)), {"Möte i Uleåborg", "Konferens i Bryssel"}),
        (DecisionFilter(search="ulea"), {"Möte i Uleåborg"}),
        (DecisionFilter(search="ULEÅBORG"), {"Möte i Uleåborg"}),
        (DecisionFilter(search="konf bryss"), {"Konferens i Bryssel"}),
        (DecisionFilter(search='"); DROP TABLE decisions; --'), set()),
        (DecisionFilter(search="bryssel", outcome="travel"), set()),
    ],
)
async def test_filters_and_search(
    backend: Backend, where: DecisionFilter, titles: set[str]
) -> None:
    await backend.record_decision(
        KEY,
        decision(JANUARY_LAST_EVENING - 86400, title="Möte i Uleåborg", destination="Uleåborg"),
        ConversationState(lang="sv"),
    )
    await backend.record_decision(
        KEY,
        decision(
            JANUARY_LAST_EVENING,
            title="Konferens i Bryssel",
            department="Tekniska förvaltningen",
            partner="SERN",
            focus_area="eu",
            outcome="digital",
        ),
        ConversationState(lang="sv"),
    )
    await backend.record_decision(
        ConversationKey("slack", "C1", "U1"),
        decision(MID_MARCH, title="Studiebesök", channel="slack", department="Kultur"),
        ConversationState(lang="sv"),
    )
    log = backend.decision_log
    found = await log.query_decisions(where, limit=10)
    assert {d.title for d in found} == titles
    assert await log.count_decisions(where) == len(titles)


async def test_listing_is_newest_first_and_the_stream_oldest_first(backend: Backend) -> None:
    ids = [
        await backend.record_decision(KEY, record(float(at)), ConversationState(lang="sv"))
        for at in (30, 10, 20)
    ]
    log = backend.decision_log
    listed = await log.query_decisions(DecisionFilter(), limit=10)
    assert [d.created_at for d in listed] == [30.0, 20.0, 10.0]
    streamed = [d.id async for d in log.stream_decisions(DecisionFilter(), batch=2)]
    assert streamed == sorted(ids)
    page = await log.query_decisions(DecisionFilter(), limit=1, offset=1)
    assert [d.created_at for d in page] == [20.0]


async def test_stats_count_months_in_stockholm_time(backend: Backend) -> None:
    co2 = {"distance_km": 700.0, "planned_mode": "flight", "planned_kg": 100.0, "avoided_kg": 100.0}
    await backend.record_decision(
        KEY,
        decision(JANUARY_LAST_EVENING, outcome="digital", co2=co2),
        ConversationState(lang="sv"),
    )
    await backend.record_decision(KEY, decision(MID_MARCH), ConversationState(lang="sv"))
    rows = await backend.decision_log.stats(DecisionFilter())
    assert [(r.month, r.total, r.travel, r.digital, r.avoided_kg) for r in rows] == [
        ("2025-02", 1, 0, 1, 100.0),
        ("2025-03", 1, 1, 0, 0.0),
    ]


async def test_purge_clears_old_decisions_and_old_unfinished_checks(
    backend: Backend, database_url: str
) -> None:
    old_id = await backend.record_decision(KEY, record(100.0), ConversationState(lang="sv"))
    new_id = await backend.record_decision(
        ConversationKey("slack", "C", "U"), record(900.0), ConversationState(lang="sv")
    )
    unfinished = ConversationState(lang="sv", phase="asking", step="title", updated_at=200.0)
    other = ConversationKey("telegram", "9", "9")
    await backend.save_conversation(other, unfinished)
    kept = ConversationKey("teams", "t", "t")
    await backend.save_conversation(kept, unfinished.model_copy(update={"updated_at": 950.0}))
    assert await backend.decision_log.purge_before(500.0, 1000.0) == 1
    old = await backend.get_decision(old_id)
    assert old is not None and old.user_id == "" and old.transcript == []
    assert old.answers == {"title": {"raw": ""}} and old.purged_at == 1000.0
    new = await backend.get_decision(new_id)
    assert new is not None and new.purged_at is None and new.user_id == "anna"
    assert await backend.load_conversation(other) is None
    assert await backend.load_conversation(kept) is not None
    assert await backend.decision_log.purge_before(500.0, 1001.0) == 0
    purge = audit_rows(database_url)[0]
    assert purge["action"] == "purge" and purge["details"]["decisions"] == 1
    assert purge["details"]["conversations"] >= 1


async def test_erasure_removes_a_person_everywhere(backend: Backend, database_url: str) -> None:
    decision_id = await backend.record_decision(KEY, record(1.0), ConversationState(lang="sv"))
    await backend.save_conversation(
        ConversationKey("terminal", "other chat", KEY.user), ConversationState(lang="sv")
    )
    assert await backend.decision_log.erase_user(KEY.user, 2.0, actor="dpo") == 1
    erased = await backend.get_decision(decision_id)
    assert erased is not None and erased.user_id == "" and erased.chat == ""
    assert await backend.load_conversation(KEY) is None
    assert await backend.last_department(KEY) is None
    trail = audit_rows(database_url)
    assert trail[-1] == {"actor": "dpo", "action": "erase", "details": {"decisions": 1}}
    assert KEY.user not in json.dumps(trail)


async def test_reviews_are_kept_oldest_first(backend: Backend) -> None:
    decision_id = await backend.record_decision(KEY, record(1.0), ConversationState(lang="sv"))
    log = backend.decision_log
    first = await log.add_review(decision_id, "eva", "agree", "Rätt", 5.0)
    await log.add_review(decision_id, "olle", "disagree", "Nej", 6.0)
    reviews = await log.reviews(decision_id)
    assert [(r.reviewer, r.verdict) for r in reviews] == [("eva", "agree"), ("olle", "disagree")]
    assert reviews[0].id == first.id
    assert await log.reviews(decision_id + 1) == []


async def test_admin_accounts_are_created_and_replaced(backend: Backend) -> None:
    log = backend.decision_log
    assert await log.admin_password_hash("eva") is None
    await log.save_admin("eva", "hash-1", 1.0)
    await log.save_admin("eva", "hash-2", 2.0)
    assert await log.admin_password_hash("eva") == "hash-2"


async def test_a_logout_holds_on_every_instance(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    await one.decision_log.end_session("sid-1", until=100.0, now=10.0)
    ended = await two.decision_log.session_ended("sid-1", now=20.0)
    fresh = await two.decision_log.session_ended("sid-2", now=20.0)
    await one.close()
    await two.close()
    assert ended and not fresh


async def test_login_failures_are_counted_once_for_all_instances(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    counts = [
        await (one if n % 2 else two).decision_log.login_failed("eva|1.2.3.4", 10.0 + n, 900)
        for n in range(5)
    ]
    failures, window_ends = await one.decision_log.login_failures("eva|1.2.3.4", 20.0, 900)
    after_window = await two.decision_log.login_failed("eva|1.2.3.4", 1000.0, 900)
    await two.decision_log.login_succeeded("eva|1.2.3.4")
    cleared = await one.decision_log.login_failures("eva|1.2.3.4", 1001.0, 900)
    await one.close()
    await two.close()
    assert counts == [1, 2, 3, 4, 5]
    assert (failures, window_ends) == (5, 910.0)
    assert after_window == 1 and cleared[0] == 0


async def test_a_lease_has_one_holder_until_it_runs_out(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    taken = await asyncio.gather(
        one.decision_log.lease("purge", "a", 60, 0.0), two.decision_log.lease("purge", "b", 60, 0.0)
    )
    renewed = await one.decision_log.lease("purge", "a" if taken[0] else "b", 60, 30.0)
    refused = await two.decision_log.lease("purge", "c", 60, 30.0)
    expired_taken = await two.decision_log.lease("purge", "c", 60, 200.0)
    await one.close()
    await two.close()
    assert sorted(taken) == [False, True]
    assert renewed and not refused and expired_taken


async def test_ping_passes_on_a_healthy_database(backend: Backend) -> None:
    await backend.ping()


async def test_opening_twice_at_once_migrates_once(database_url: str) -> None:
    stores = await asyncio.gather(*(open_url(database_url) for _ in range(3)))
    for store in stores:
        await store.ping()
        await store.close()


async def test_the_daily_purge_runs_on_one_instance(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    first = await asyncio.gather(
        purge_if_due(one.decision_log, 24, 1000.0), purge_if_due(two.decision_log, 24, 1000.0)
    )
    later_that_day = await purge_if_due(two.decision_log, 24, 1000.0 + 3 * 3600)
    next_day = await purge_if_due(two.decision_log, 24, 1000.0 + DAY)
    await one.close()
    await two.close()
    assert sorted(first, key=str) == [0, None] and later_that_day is None and next_day == 0


async def test_a_logout_on_one_instance_ends_the_cookie_on_the_other(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    signer = Signer(b"one secret for both instances")
    here = SharedSessions(signer, lambda: 100.0, one.decision_log)
    there = SharedSessions(signer, lambda: 100.0, two.decision_log)
    session, cookie = here.start("eva", "hash")
    before = await there.read_shared(cookie)
    await here.end_everywhere(session)
    after = await there.read_shared(cookie)
    await one.close()
    await two.close()
    assert before == session and after is None


async def test_the_login_limit_is_shared_by_the_instances(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    limiters = [SharedLoginLimiter(lambda: 50.0, store.decision_log) for store in (one, two)]
    for n in range(5):
        assert await limiters[n % 2].retry_after("Eva", "10.0.0.1") is None
        await limiters[n % 2].failed("Eva ", "10.0.0.1")
    locked = await limiters[0].retry_after("eva", "10.0.0.1")
    elsewhere = await limiters[1].retry_after("eva", "10.0.0.2")
    await limiters[1].succeeded("eva", "10.0.0.1")
    unlocked = await limiters[0].retry_after("eva", "10.0.0.1")
    await one.close()
    await two.close()
    assert locked == 900.0 and elsewhere is None and unlocked is None


async def test_an_old_scrypt_hash_is_upgraded_at_the_next_login(backend: Backend) -> None:
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(b"correct horse battery", salt=salt, n=2**14, r=8, p=1)
    old = "$".join(
        ["scrypt", str(2**14), "8", "1", base64.b64encode(salt).decode(),
         base64.b64encode(digest).decode()]
    )  # fmt: skip
    await backend.decision_log.save_admin("eva", old, 1.0)
    checker = PasswordChecker(backend.decision_log, lambda: 2.0)
    assert await checker.check("eva", "wrong horse battery") is None
    assert await backend.decision_log.admin_password_hash("eva") == old
    new = await checker.check("eva", "correct horse battery")
    stored = await backend.decision_log.admin_password_hash("eva")
    assert new == stored and stored is not None and stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored and not needs_rehash(stored)
    assert await checker.check("eva", "correct horse battery") == stored


def month_starts(first_year: int, last_year: int) -> list[float]:
    """The first moment of every month in Stockholm time, as timestamps."""
    from zoneinfo import ZoneInfo

    stockholm = ZoneInfo("Europe/Stockholm")
    return [
        datetime(year, month, 1, tzinfo=stockholm).timestamp()
        for year in range(first_year, last_year + 1)
        for month in range(1, 13)
    ]


def test_the_sql_month_is_the_stockholm_month_at_every_boundary() -> None:
    from pathlib import Path

    from storage.sqlite.store import local_month

    sql = (Path(__file__).parents[1] / "storage/sqlite/migrations/006_month_stats.sql").read_text()
    expression = sql.split("VALUES (\n", 1)[1].split(",\n", 1)[0].strip()
    moments = [t + delta for t in month_starts(2000, 2040) for delta in (-3601, -1, 0, 3599)]
    with sqlite3.connect(":memory:") as conn:
        query = f"SELECT {expression.replace('new.created_at', '?1')}"
        computed = [conn.execute(query, [t]).fetchone()[0] for t in moments]
    assert computed == [local_month(t) for t in moments]


async def test_whole_log_stats_equal_a_recount_after_inserts_updates_purge_and_erasure(
    backend: Backend, database_url: str
) -> None:
    co2 = {"distance_km": 700.0, "planned_mode": "flight", "planned_kg": 80.0, "avoided_kg": 80.0}
    outcomes = ["travel", "digital", "not_qualified"]
    for n, start in enumerate(month_starts(2025, 2026)):
        for at in (start - 1, start):
            outcome = outcomes[n % 3]
            await backend.record_decision(
                ConversationKey("rest", f"c{n}", f"u{n % 4}"),
                decision(
                    at,
                    outcome=outcome,
                    department=["Kommunstaben", "LBR"][n % 2],
                    co2=co2 if outcome == "digital" else None,
                ),
                ConversationState(lang="sv"),
            )
    log = backend.decision_log
    # A filter that keeps every decision takes the counting query, not the kept totals.
    everything = DecisionFilter(since=date(1970, 1, 2))

    async def assert_same() -> None:
        def rounded(rows: list[Any]) -> list[dict[str, Any]]:
            # Kept totals add and subtract floats: equal to a recount up to rounding.
            return [{**r.model_dump(), "avoided_kg": round(r.avoided_kg, 6)} for r in rows]

        kept = await log.stats(DecisionFilter())
        assert kept and rounded(kept) == rounded(await log.stats(everything))
        assert sum(r.total for r in kept) == await log.count_decisions(DecisionFilter())

    await assert_same()
    await log.purge_before(month_starts(2025, 2025)[6], month_starts(2026, 2026)[11])
    await log.erase_user("u1", month_starts(2026, 2026)[11], actor="dpo")
    await assert_same()
    # Changes made in SQL (a correction by hand) keep the totals too.
    change = [
        "UPDATE decisions SET outcome = 'digital' WHERE outcome = 'travel' AND department = 'LBR'",
        "UPDATE decisions SET department = 'Kommunstaben' WHERE department = 'LBR' AND id % 3 = 0",
        "DELETE FROM decisions WHERE id % 5 = 0 AND id NOT IN (SELECT decision_id FROM reviews)",
    ]
    path = sqlite_path(database_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            for statement in change:
                conn.execute(statement)
    else:
        with psycopg.connect(database_url) as pg:
            for statement in change:
                pg.execute(statement)
    await assert_same()


@pytest.mark.parametrize("search", ["möte", "kemi kommunstaben", "nothing"])
async def test_a_search_is_counted_as_it_is_listed(backend: Backend, search: str) -> None:
    for n in range(6):
        title = "Möte" if n % 2 else "Konferens"
        await backend.record_decision(
            KEY, decision(float(n), title=title), ConversationState(lang="sv")
        )
    where = DecisionFilter(search=search)
    listed = await backend.decision_log.query_decisions(where, limit=100)
    assert await backend.decision_log.count_decisions(where) == len(listed)


# --- follow-ups: what really happened (issue 12 §5, §6) -----------------------------------

SLACK_KEY = ConversationKey("slack", "D0ANNA", "U0ANNA")
CHANNELS = ("slack", "telegram", "teams")


async def dated_decision(
    store: Backend, due_at: float, key: ConversationKey = SLACK_KEY, **changes: Any
) -> int:
    """A decision with a trip date and motivation, put on the due-list, as the engine does."""
    dated = decision(
        1000.0,
        channel=key.channel,
        chat=key.chat,
        user_id=key.user,
        happens_on="2026-03-12",
        happens_precision="day",
        motivation="Styrelsen möts bara på plats",
        **changes,
    )
    async with store.turn(key) as tx:
        decision_id = await tx.record_decision(dated, ConversationState(lang="sv"))
        await tx.schedule_followup(decision_id, due_at, "sv")
    return decision_id


async def claim(store: Backend, holder: str, now: float) -> list[int]:
    due = await store.claim_followups(holder, now, channels=CHANNELS, lease=600.0, limit=10)
    return [followup.decision_id for followup in due]


async def test_a_decision_keeps_its_date_and_motivation(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    stored = await backend.get_decision(decision_id)
    assert stored is not None
    assert (stored.happens_on, stored.happens_precision) == ("2026-03-12", "day")
    assert stored.motivation == "Styrelsen möts bara på plats"
    assert (stored.actual_outcome, stored.actual_at, stored.followed_up_at) == (None, None, None)


async def test_a_follow_up_is_due_at_its_time_asked_once_more_then_left(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    assert await claim(backend, "a", 4999.0) == []
    assert await claim(backend, "a", 5000.0) == [decision_id]
    # Claimed: no one else gets it while the claim runs, not even after it is due again.
    assert await claim(backend, "b", 5100.0) == []
    await backend.followup_sent(decision_id, "a", 5100.0, next_due=9000.0)
    stored = await backend.get_decision(decision_id)
    assert stored is not None and stored.followed_up_at == 5100.0
    assert await claim(backend, "b", 8999.0) == []
    (again,) = await backend.claim_followups("b", 9000.0, channels=CHANNELS, lease=60, limit=10)
    assert (again.decision_id, again.attempts, again.sent_at) == (decision_id, 1, 5100.0)
    await backend.followup_sent(decision_id, "b", 9000.0, next_due=None)
    assert await claim(backend, "c", 10.0**9) == []
    stored = await backend.get_decision(decision_id)
    assert stored is not None and stored.followed_up_at == 5100.0  # the first time it was asked


async def test_only_the_claimer_marks_a_follow_up_sent(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    assert await claim(backend, "a", 5000.0) == [decision_id]
    await backend.followup_sent(decision_id, "b", 5001.0, next_due=None)
    stored = await backend.get_decision(decision_id)
    assert stored is not None and stored.followed_up_at is None
    # The claim runs out (600 s): another instance takes it over.
    assert await claim(backend, "b", 5601.0) == [decision_id]


async def test_follow_ups_are_claimed_only_for_the_channels_asked(backend: Backend) -> None:
    await dated_decision(backend, 5000.0)
    none = await backend.claim_followups("a", 5000.0, channels=("teams",), lease=60, limit=10)
    assert none == []
    assert await backend.claim_followups("a", 5000.0, channels=(), lease=60, limit=10) == []


async def test_a_failed_send_is_tried_again_or_left(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    assert await claim(backend, "a", 5000.0) == [decision_id]
    await backend.followup_failed(decision_id, "a", retry_at=8600.0)
    assert await claim(backend, "a", 8599.0) == []
    (retried,) = await backend.claim_followups("a", 8600.0, channels=CHANNELS, lease=60, limit=9)
    assert (retried.failures, retried.attempts) == (1, 0)
    await backend.followup_failed(decision_id, "a", retry_at=None)
    assert await claim(backend, "a", 10.0**9) == []


async def test_an_answer_is_stored_once_as_the_actual_outcome(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    async with backend.turn(SLACK_KEY) as tx:
        assert await tx.open_followup() is None  # not asked yet
    await claim(backend, "a", 5000.0)
    await backend.followup_sent(decision_id, "a", 5000.0, next_due=9000.0)
    other = ConversationKey("slack", "D0BERIT", "U0BERIT")
    async with backend.turn(other) as tx:
        assert await tx.open_followup() is None  # someone else's
    async with backend.turn(SLACK_KEY) as tx:
        open_one = await tx.open_followup()
        assert open_one is not None and open_one.decision_id == decision_id
        assert await tx.open_followup(decision_id + 1) is None
        assert await tx.record_actual(decision_id, "digital", 6000.0)
    async with backend.turn(SLACK_KEY) as tx:
        assert await tx.open_followup() is None
        assert not await tx.record_actual(decision_id, "travelled", 6001.0)
    stored = await backend.get_decision(decision_id)
    assert stored is not None and (stored.actual_outcome, stored.actual_at) == ("digital", 6000.0)
    assert await claim(backend, "a", 9000.0) == []  # answered: not asked again


async def test_an_answer_in_a_failed_turn_is_not_stored(backend: Backend) -> None:
    decision_id = await dated_decision(backend, 5000.0)
    await claim(backend, "a", 5000.0)
    await backend.followup_sent(decision_id, "a", 5000.0, next_due=None)
    with pytest.raises(RuntimeError):
        async with backend.turn(SLACK_KEY) as tx:
            await tx.record_actual(decision_id, "digital", 6000.0)
            raise RuntimeError("the reply failed")
    stored = await backend.get_decision(decision_id)
    assert stored is not None and stored.actual_outcome is None


async def test_a_reference_is_kept_for_its_own_conversation_only(backend: Backend) -> None:
    teams = ConversationKey("teams", "a:1", "aad-anna")
    decision_id = await dated_decision(backend, 5000.0, teams)
    reference = {"service_url": "http://127.0.0.1:9/", "conversation_id": "a:1", "tenant_id": "t"}
    await backend.set_followup_reference(ConversationKey("teams", "a:1", "aad-x"), decision_id, {})
    (unset,) = await backend.claim_followups("a", 5000.0, channels=CHANNELS, lease=1, limit=9)
    assert unset.reference is None and unset.key == teams
    await backend.set_followup_reference(teams, decision_id, reference)
    (kept,) = await backend.claim_followups("a", 5002.0, channels=CHANNELS, lease=1, limit=9)
    assert kept.reference == reference


async def test_two_instances_claim_a_due_follow_up_once(database_url: str) -> None:
    one, two = await open_url(database_url), await open_url(database_url)
    ids = [await dated_decision(one, 5000.0 + n) for n in range(6)]
    claimed = await asyncio.gather(
        *(claim(store, name, 6000.0) for store, name in ((one, "a"), (two, "b")) for _ in range(3))
    )
    await one.close()
    await two.close()
    everything = [decision_id for batch in claimed for decision_id in batch]
    assert sorted(everything) == ids


async def test_purge_and_erasure_remove_the_due_list_and_the_motivation(
    backend: Backend,
) -> None:
    old = await dated_decision(backend, 5000.0)
    erased = await dated_decision(backend, 5000.0, ConversationKey("slack", "D0B", "U0B"))
    await backend.decision_log.purge_before(2000.0, 3000.0)
    await backend.decision_log.erase_user("U0B", 3000.0, actor="dpo")
    assert await claim(backend, "a", 6000.0) == []
    for decision_id in (old, erased):
        stored = await backend.get_decision(decision_id)
        assert stored is not None and stored.motivation is None
        assert stored.happens_on == "2026-03-12"  # the date is no personal data


async def test_stats_count_follow_ups_and_confirmed_co2e_as_kept_and_recounted(
    backend: Backend, database_url: str
) -> None:
    planned = {"planned_mode": "flight", "planned_kg": 300.0, "avoided_kg": 300.0}
    travel = {"planned_mode": "flight", "planned_kg": 120.0, "avoided_kg": None}
    answers = [("digital", planned), ("travelled", planned), ("digital", travel), (None, planned)]
    for n, (actual, co2) in enumerate(answers):
        key = ConversationKey("slack", f"D{n}", f"U{n}")
        outcome = "digital" if co2["avoided_kg"] else "travel"
        decision_id = await dated_decision(backend, 5000.0, key, outcome=outcome, co2=co2)
        await backend.claim_followups("p", 5000.0, channels=CHANNELS, lease=60, limit=10)
        await backend.followup_sent(decision_id, "p", 5000.0, next_due=None)
        if actual is not None:
            async with backend.turn(key) as tx:
                await tx.record_actual(decision_id, actual, 6000.0)
    await dated_decision(backend, 5000.0, ConversationKey("slack", "D9", "U9"))  # not asked
    log = backend.decision_log
    (kept,) = await log.stats(DecisionFilter())
    assert (kept.total, kept.asked, kept.answered, kept.confirmed_digital) == (5, 4, 3, 2)
    # Planned: the digital recommendations; confirmed: the meetings that did go digital,
    # each avoiding its planned trip (a recommended trip held digitally too).
    assert (kept.avoided_kg, kept.confirmed_avoided_kg) == (900.0, 420.0)
    (recounted,) = await log.stats(DecisionFilter(since=date(1970, 1, 1)))
    assert recounted == kept
    # A correction by hand in SQL keeps the totals.
    change = "UPDATE decisions SET actual_outcome = 'digital' WHERE actual_outcome = 'travelled'"
    path = sqlite_path(database_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            conn.execute(change)
    else:
        with psycopg.connect(database_url) as pg:
            pg.execute(change)
    (kept,) = await log.stats(DecisionFilter())
    assert (kept.confirmed_digital, kept.confirmed_avoided_kg) == (3, 720.0)
    assert await log.stats(DecisionFilter(since=date(1970, 1, 1))) == [kept]


async def test_a_database_of_the_schema_before_follow_ups_is_migrated(database_url: str) -> None:
    """The last schema before follow-ups (SQLite 6, PostgreSQL 2), with a decision in it:
    migrated, the decision and its month totals are kept and it can be followed up."""
    from storage.postgres.store import MIGRATIONS as PG_MIGRATIONS
    from storage.rows import to_row
    from storage.sqlite.store import migrate

    row = to_row(decision(1000.0, channel="slack", chat="D0ANNA", user_id="U0ANNA"))
    for added in ("happens_on", "happens_precision", "motivation"):
        del row[added]
    columns = ", ".join(row)
    path = sqlite_path(database_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            migrate(conn, upto=6)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO decisions ({columns}) VALUES ({marks})", list(row.values()))
    else:
        with psycopg.connect(database_url, autocommit=True) as pg:
            pg.execute("CREATE TABLE schema_version (version integer)")
            pg.execute("INSERT INTO schema_version (version) VALUES (2)")
            for migration in PG_MIGRATIONS[:2]:
                pg.execute(migration.sql.encode())
            marks = ", ".join("%s" for _ in row)
            pg.execute(f"INSERT INTO decisions ({columns}) VALUES ({marks})", list(row.values()))
    store = await open_url(database_url)
    try:
        (old,) = await store.decision_log.query_decisions(DecisionFilter(), limit=5)
        assert old.actual_outcome is None and old.happens_on is None
        (month,) = await store.decision_log.stats(DecisionFilter())
        assert (month.total, month.travel, month.asked, month.answered) == (1, 1, 0, 0)
        async with store.turn(SLACK_KEY) as tx:
            await tx.schedule_followup(old.id, 5000.0, "sv")
        assert await claim(store, "a", 5000.0) == [old.id]
        await store.followup_sent(old.id, "a", 5000.0, None)
        async with store.turn(SLACK_KEY) as tx:
            assert await tx.record_actual(old.id, "digital", 6000.0)
        (month,) = await store.decision_log.stats(DecisionFilter())
        assert (month.total, month.asked, month.answered, month.confirmed_digital) == (1, 1, 1, 1)
    finally:
        await store.close()
