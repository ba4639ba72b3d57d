"""The retention rule, applied daily while the server runs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.decision_log import DecisionLog
from bot.storage import StorageError

log = logging.getLogger("tripcheck.retention")
DAY = 86400.0
MONTH = 30.44 * DAY


def cutoff(now: float, months: int) -> float:
    """Decisions made before this moment lose their personal identifiers."""
    return now - months * MONTH


async def purge_daily(
    decision_log: DecisionLog, months: int, clock: Callable[[], float] = time.time
) -> None:
    """Purges now and then once a day, until cancelled; a failed purge is retried next day."""
    while True:
        now = clock()
        try:
            count = await decision_log.purge_before(cutoff(now, months), now)
            log.info("retention purge", extra={"decisions": count, "months": months})
        except StorageError as error:
            log.error("retention purge failed: %s", error)
        await asyncio.sleep(DAY)
