"""The retention rule, applied daily while the server runs: on one instance at a time."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable

from bot.decision_log import DecisionLog
from bot.storage import StorageError

log = logging.getLogger("tripcheck.retention")
DAY = 86400.0
MONTH = 30.44 * DAY
# Every instance asks this often whether the day's purge is due; one of them gets the lease.
CHECK_EVERY = 3600.0
LEASE = "retention-purge"


def cutoff(now: float, months: int) -> float:
    """Decisions made (and unfinished checks last touched) before this moment lose their
    personal identifiers."""
    return now - months * MONTH


async def purge_if_due(decision_log: DecisionLog, months: int, now: float) -> int | None:
    """Purges if no instance has in the last day; the number purged, or None if not due.
    A new holder name per attempt means nobody renews: the lease simply runs for a day."""
    if not await decision_log.lease(LEASE, secrets.token_hex(8), DAY - CHECK_EVERY / 2, now):
        return None
    count = await decision_log.purge_before(cutoff(now, months), now)
    log.info("retention purge", extra={"decisions": count, "months": months})
    return count


async def purge_daily(
    decision_log: DecisionLog, months: int, clock: Callable[[], float] = time.time
) -> None:
    """Purges once a day across all instances, until cancelled; a failure is retried at the
    next check."""
    while True:
        try:
            await purge_if_due(decision_log, months, clock())
        except StorageError as error:
            log.error("retention purge failed: %s", error)
        await asyncio.sleep(CHECK_EVERY)
