"""A search alone, counted from the search-term runs (migration 005) instead of the decisions.

The listing matches each word as `search @@ (simple prefix || swedish stem || english stem)`.
For a word whose three queries are one lexeme each (or none, a stop word), that is: the vector
holds a lexeme starting with the prefix or equal to a stem, which is what the runs record; a
word the parser splits or changes otherwise ("e_mail") is left to the listing's own query."""

from __future__ import annotations

import re
from typing import Any

from psycopg import AsyncConnection

from storage.filters import like_prefix

# The text of a tsquery of one lexeme (quotes and backslashes would be escaped: not taken).
PREFIX_QUERY = re.compile(r"'([^'\\]+)':\*")
EXACT_QUERY = re.compile(r"'([^'\\]+)'")

# The same queries as the listing's (storage/postgres/store.py where_sql), one row per word.
WORD_QUERIES = (
    "SELECT to_tsquery('simple', tripcheck_unaccent(word) || ':*')::text AS prefix,"
    " to_tsquery('swedish', tripcheck_unaccent(word))::text AS swedish,"
    " to_tsquery('english', tripcheck_unaccent(word))::text AS english"
    " FROM unnest(%s::text[]) WITH ORDINALITY AS words (word, n) ORDER BY n"
)


def word_lexemes(row: dict[str, str]) -> tuple[str, list[str]] | None:
    """A word's prefix and exact lexemes from its three queries, or None if any of them is
    more than one lexeme (or the prefix none)."""
    prefix = PREFIX_QUERY.fullmatch(row["prefix"])
    if prefix is None:
        return None
    exact = []
    for query in (row["swedish"], row["english"]):
        if query:
            lexeme = EXACT_QUERY.fullmatch(query)
            if lexeme is None:
                return None
            exact.append(lexeme.group(1))
    return prefix.group(1), exact


async def count_search(conn: AsyncConnection[dict[str, Any]], words: list[str]) -> int | None:
    """How many decisions hold every word, or None when a word needs the listing's query."""
    cursor = await conn.execute(WORD_QUERIES, [words])
    lexemes = [word_lexemes(row) for row in await cursor.fetchall()]
    if any(word is None for word in lexemes):
        return None
    runs: list[str] = []
    params: list[Any] = []
    for n, word in enumerate(lexemes):
        assert word is not None
        prefix, exact = word
        # Per run of ids, the decisions holding any of the word's lexemes.
        runs.append(
            f"SELECT {n} AS word, chunk, bit_or(bits) AS bits FROM decision_search_terms"
            " WHERE term LIKE %s OR term = ANY(%s) GROUP BY chunk"
        )
        params.extend([like_prefix(prefix), exact])
    cursor = await conn.execute(
        "SELECT coalesce(sum(bit_count(bits)), 0) AS n FROM (SELECT bit_and(bits) AS bits"
        f" FROM ({' UNION ALL '.join(runs)}) AS words GROUP BY chunk HAVING count(*) = %s)"
        " AS every_word",
        [*params, len(lexemes)],
    )
    row = await cursor.fetchone()
    return 0 if row is None else int(row["n"])
