"""A search counted as it is listed, on every backend, after each way the log changes; and, on
PostgreSQL, the search-term runs the count reads (migration 005) equal to a rebuild."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from bot.state import ConversationState
from storage import Backend, sqlite_path
from storage.postgres.search_terms import count_search
from tests.test_storage_contract import decision

# Prefixes, stems (konferenser finds Konferens), diacritics, stop words, several words, a word
# the parser splits, and words nothing holds.
SEARCHES = [
    "möte",
    "mö",
    "MOTE",
    "konferenser",
    "uleaborg",
    "the",
    "och möte",
    "kemi kommunstaben",
    "bryssel konferens",
    "rå",
    "studie_resa",
    "nothing",
    "123",
]
TITLES = ["Möte i Kemi", "Konferens i Bryssel", "Möte i Uleåborg", "Studiebesök 123", "The plan"]
REBUILT_RUNS = (
    "SELECT lexeme AS term, id / 256 AS chunk, bit_or(tripcheck_search_bit(id))::text AS bits"
    " FROM decisions, unnest(tsvector_to_array(search)) AS lexeme GROUP BY 1, 2 ORDER BY 1, 2"
)
KEPT_RUNS = "SELECT term, chunk, bits::text AS bits FROM decision_search_terms ORDER BY 1, 2"


def run_sql(url: str, statement: str) -> None:
    """A change made by hand, straight in the database."""
    path = sqlite_path(url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            conn.execute(statement)
    else:
        with psycopg.connect(url) as pg:
            pg.execute(statement)


def kept_and_rebuilt(url: str) -> tuple[list[Any], list[Any]]:
    with psycopg.connect(url) as pg:
        return pg.execute(KEPT_RUNS).fetchall(), pg.execute(REBUILT_RUNS).fetchall()


async def fill(backend: Backend, count: int) -> None:
    for n in range(count):
        title = TITLES[n % len(TITLES)]
        await backend.record_decision(
            ConversationKey("rest", f"c{n}", f"u{n % 3}"),
            decision(
                float(1000 + n),
                title=title,
                user_id=f"u{n % 3}",
                answers={"title": {"raw": f"{title.lower()} rådet", "value": title}},
            ),
            ConversationState(lang="sv"),
        )


async def assert_counted_as_listed(backend: Backend) -> None:
    log = backend.decision_log
    for search in SEARCHES:
        where = DecisionFilter(search=search)
        listed = await log.query_decisions(where, limit=10_000)
        assert await log.count_decisions(where) == len(listed), search


async def test_a_search_is_counted_as_listed_after_inserts_purge_erasure_and_sql_changes(
    backend: Backend, database_url: str
) -> None:
    # Over 256 decisions: the runs of ids span more than one row per term.
    await fill(backend, 600)
    await assert_counted_as_listed(backend)
    log = backend.decision_log
    await log.purge_before(1200.0, 5000.0)
    await log.erase_user("u1", 5000.0, actor="dpo")
    await assert_counted_as_listed(backend)
    run_sql(database_url, "UPDATE decisions SET title = 'Workshop i Bologna' WHERE id % 7 = 0")
    run_sql(database_url, "DELETE FROM decisions WHERE id % 5 = 0")
    await assert_counted_as_listed(backend)
    assert await log.count_decisions(DecisionFilter(search="bologna")) > 0


@pytest.mark.postgres
async def test_the_search_term_runs_equal_a_rebuild_after_every_change(
    postgres_url: str,
) -> None:
    from storage import open_url

    store = await open_url(postgres_url)
    try:
        await fill(store, 300)
        kept, rebuilt = kept_and_rebuilt(postgres_url)
        assert kept and kept == rebuilt
        # A follow-up answered changes the decision but not what it is searched by.
        async with store.turn(ConversationKey("rest", "c1", "u1")) as tx:
            await tx.schedule_followup(2, 2000.0, "sv")
        await store.followup_sent(2, "x", 2000.0, None)
        log = store.decision_log
        await log.purge_before(1100.0, 5000.0)
        await log.erase_user("u2", 5000.0, actor="dpo")
        for statement in (
            "UPDATE decisions SET title = 'Workshop i Bologna' WHERE id % 7 = 0",
            "UPDATE decisions SET destination = NULL, answers = '{}' WHERE id % 11 = 0",
            "DELETE FROM decisions WHERE id % 5 = 0 OR id > 290",
        ):
            run_sql(postgres_url, statement)
            kept, rebuilt = kept_and_rebuilt(postgres_url)
            assert kept == rebuilt, statement
        # A run left with no decision holding its term is dropped, not kept as zeros.
        with psycopg.connect(postgres_url) as pg:
            assert pg.execute(
                "SELECT count(*) FROM decision_search_terms WHERE bits = 0::bit(256)"
            ).fetchone() == (0,)
    finally:
        await store.close()


@pytest.mark.postgres
async def test_ordinary_words_are_counted_from_the_runs_and_split_words_are_not(
    postgres_url: str,
) -> None:
    from storage import open_url

    store = await open_url(postgres_url)
    try:
        await fill(store, 10)
        async with await psycopg.AsyncConnection.connect(
            postgres_url, row_factory=dict_row
        ) as conn:
            assert await count_search(conn, ["möte"]) == 4
            assert await count_search(conn, ["the"]) == 2  # a stop word: its prefix still counts
            assert await count_search(conn, ["konferenser", "bryssel"]) == 2
            assert await count_search(conn, ["studie_resa"]) is None
    finally:
        await store.close()
