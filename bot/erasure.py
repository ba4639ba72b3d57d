"""Erasures that outlive a restore: a keyed hash of each erased user id, and applying them again.

Restoring a backup brings back everyone erased after it was taken. The database keeps, for
each erasure, HMAC-SHA256(TRIPCHECK_ERASURE_KEY, user id): without the key it cannot be turned
back into the id (nor found by hashing guessed ids), and with it every stored id can be tested
against the list. Lines of `tripcheck db erasures`, of `tripcheck decisions erase` and the
server's JSON audit log all carry the mark as `"erasure"`, so the list can come from any of them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from bot.decision_log import DecisionLog, Erasure

MARK = re.compile(r"^[0-9a-f]{64}$")


class ErasureListError(ValueError):
    """A line of an erasure list is neither a mark nor a JSON line carrying one."""


def erasure_mark(key: str, user_id: str) -> str:
    """The keyed hash kept of an erased user id (64 hex digits)."""
    return hmac.new(key.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def erasure_line(erasure: Erasure) -> str:
    """One erasure as a JSON line, as `parse_erasures` reads it back."""
    return json.dumps({"erasure": erasure.mark, "erased_at": erasure.erased_at})


def parse_erasures(text: str, now: float) -> list[Erasure]:
    """The erasures in a list: JSON lines with an `erasure` mark (and `erased_at`, else now),
    or bare marks; other JSON lines (the rest of a log) are passed over. ErasureListError
    names the first line that is neither."""
    found: dict[str, Erasure] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if MARK.match(line):
            found.setdefault(line, Erasure(mark=line, erased_at=now))
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise ErasureListError(f"line {number}: not an erasure mark or a JSON line") from None
        mark = data.get("erasure") if isinstance(data, dict) else None
        if mark is None:
            continue
        if not isinstance(mark, str) or not MARK.match(mark):
            raise ErasureListError(f"line {number}: the erasure mark is not 64 hex digits")
        at = data.get("erased_at")
        erased_at = float(at) if isinstance(at, int | float) else now
        found.setdefault(mark, Erasure(mark=mark, erased_at=erased_at))
    return list(found.values())


@dataclass(frozen=True)
class Reapplied:
    """What re-applying a list did: the people erased again and their decisions."""

    users: int
    decisions: int


async def reapply_erasures(
    log: DecisionLog, key: str, erasures: list[Erasure], now: float
) -> Reapplied:
    """Erases again every stored user id whose mark is in `erasures`, and keeps the list in
    the database, so a later erasure request or restore knows them too. Safe to repeat."""
    wanted = {erasure.mark for erasure in erasures}
    # Kept first, so each keeps the time it was first made.
    await log.remember_erasures(erasures)
    users = decisions = 0
    for user_id in sorted(await log.user_ids()):
        mark = erasure_mark(key, user_id)
        if mark in wanted:
            decisions += await log.erase_user(user_id, now, "restore", mark=mark)
            users += 1
    return Reapplied(users, decisions)
