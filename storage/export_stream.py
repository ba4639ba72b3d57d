"""The export stream both backends share: plain rows in keyset batches."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bot.export import CSV_COLUMNS

# The export's columns (each CSV column is a column of the log) and where its id is.
EXPORT_SELECT = ", ".join(f"d.{column}" for column in CSV_COLUMNS)
EXPORT_ID = CSV_COLUMNS.index("id")

Rows = list[tuple[Any, ...]]


async def keyset_batches(fetch: Callable[[int], Awaitable[Rows]]) -> AsyncIterator[Rows]:
    """The batches `fetch(after_id)` returns, in id order, until one is empty: each starts
    after the last id, so memory stays constant and no OFFSET rescans the table."""
    after = 0
    while rows := await fetch(after):
        yield rows
        after = rows[-1][EXPORT_ID]
