"""The follow-up sender: every minute, the instance holding the `followups` lease claims the
due follow-ups and sends each through its channel's proactive send path (Slack, Telegram,
Teams); a claimed row is no other instance's, so several servers on one database ask once.

A question is sent at least once: if the process dies between the platform's answer and
marking it sent, the claim runs out and the question is sent again (never lost)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from adapters.channel import Channel
from bot.engine import Engine
from bot.followup import Delivery, FollowUpSender
from bot.storage import FollowUp, StorageError

log = logging.getLogger("tripcheck.followups")
LEASE_NAME = "followups"
POLL_SECONDS = 60.0
# The lease outlives a poll or two, so the same instance keeps sending while it is up.
LEASE_SECONDS = 3 * POLL_SECONDS
# A claimed follow-up is the claimer's this long: longer than sending a batch takes.
CLAIM_SECONDS = 10 * 60.0
BATCH = 50

Lease = Callable[[str, str, float, float], Awaitable[bool]]


def senders_of(channels: Sequence[Channel]) -> dict[str, FollowUpSender]:
    """The proactive send path of each running channel that has one."""
    senders: dict[str, FollowUpSender] = {}
    for channel in channels:
        if channel.name == "slack":
            from adapters.slack import SlackChannel
            from adapters.slack_proactive import SlackFollowUps

            assert isinstance(channel, SlackChannel)
            senders["slack"] = SlackFollowUps(channel)
        elif channel.name == "telegram":
            from adapters.telegram import TelegramChannel
            from adapters.telegram_proactive import TelegramFollowUps

            assert isinstance(channel, TelegramChannel)
            senders["telegram"] = TelegramFollowUps(channel)
        elif channel.name == "teams":
            from adapters.teams import TeamsChannel
            from adapters.teams_proactive import TeamsFollowUps

            assert isinstance(channel, TeamsChannel)
            senders["teams"] = TeamsFollowUps(channel)
    return senders


def instance_name() -> str:
    """This process among all instances on the database (host, pid and a random part)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class FollowUpPoller:
    """Claims due follow-ups and sends them; `run_once(now)` is one poll (tests pass `now`)."""

    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, FollowUpSender],
        *,
        lease: Lease | None,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.holder = holder or instance_name()
        self._lease = lease
        self._clock = clock

    async def run_once(self, now: float | None = None) -> int:
        """One poll: sends what is due at `now` if this instance holds the lease; returns how
        many questions were sent."""
        at = self._clock() if now is None else now
        if self._lease is not None and not await self._lease(
            LEASE_NAME, self.holder, LEASE_SECONDS, at
        ):
            return 0
        channels = tuple(c for c in self.engine.followups.channels if c in self.senders)
        storage = self.engine.storage
        due = await storage.claim_followups(
            self.holder, at, channels=channels, lease=CLAIM_SECONDS, limit=BATCH
        )
        sent = 0
        for followup in due:
            delivery = await self._send(followup)
            if delivery == "sent":
                next_due = self.engine.followups.next_ask(followup, at)
                await storage.followup_sent(followup.decision_id, self.holder, at, next_due)
                sent += 1
            else:
                retry = self.engine.followups.retry_at(followup, at)
                retry_at = retry if delivery == "failed" else None
                await storage.followup_failed(followup.decision_id, self.holder, retry_at)
        return sent

    async def _send(self, followup: FollowUp) -> Delivery:
        question = await self.engine.followup_message(followup)
        if question is None:
            return "unreachable"  # the decision was purged or deleted
        try:
            return await self.senders[followup.channel].send(followup, question)
        except Exception:
            # One follow-up's failure must not stop the others.
            log.exception("follow-up send failed", extra={"channel": followup.channel})
            return "failed"

    async def run(self, every: float = POLL_SECONDS) -> None:
        """Polls until cancelled; storage trouble is logged and the next poll tries again."""
        while True:
            try:
                sent = await self.run_once()
                if sent:
                    log.info("follow-ups sent", extra={"count": sent})
            except StorageError as error:
                log.warning("follow-ups not polled: %s", error)
            except Exception:
                log.exception("follow-up poll failed")
            await asyncio.sleep(every)


def start_followups(engine: Engine, channels: Sequence[Channel]) -> asyncio.Task[None] | None:
    """Starts the poller with the server when a channel can write first; None otherwise."""
    senders = senders_of(channels)
    if not senders or not engine.followups.channels:
        return None
    lease = engine.admin.log.lease if engine.admin is not None else None
    poller = FollowUpPoller(engine, senders, lease=lease)
    return asyncio.create_task(poller.run())
