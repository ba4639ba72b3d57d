"""The storage seam: conversations, the decision log and user profiles, behind one interface."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from pydantic import BaseModel

from bot.messages import ConversationKey
from bot.state import ConversationState


class StorageError(Exception):
    """Storage cannot be used (corrupt, read-only, locked, missing); the message says why."""


class DecisionRecord(BaseModel):
    """One row of the decision log: who, where, when, every answer, and the decision."""

    channel: str
    chat: str
    user_id: str
    role: str
    created_at: float
    lang: str
    kind: str
    title: str
    department: str
    partner: str
    partner_id: str | None
    destination: str
    outcome: str
    focus_area: str
    advisories: list[dict[str, Any]]
    reasons: list[dict[str, Any]]
    guidelines: list[dict[str, Any]]
    answers: dict[str, dict[str, Any]]
    rules_version: str
    transcript: list[dict[str, Any]]
    co2: dict[str, Any] | None = None
    # When the trip or activity takes place (an ISO date: a day, a week's Monday or a month's
    # first) and how precisely it was given ("day", "week", "month"); None when not given.
    happens_on: str | None = None
    happens_precision: str | None = None
    # The person's reason, where the plan asks for one (outside the focus areas, flying).
    motivation: str | None = None


class StoredDecision(DecisionRecord):
    """A recorded decision; `purged_at` is set once its personal identifiers were removed.
    `actual_outcome` is what really happened, as the person answered the follow-up
    (digital, travelled, not_held); `followed_up_at` when they were first asked."""

    id: int
    purged_at: float | None = None
    actual_outcome: str | None = None
    actual_at: float | None = None
    followed_up_at: float | None = None


class FollowUp(BaseModel):
    """A question about what really happened, due for one decision: where to ask (the
    decision's conversation and, for channels that need more to write first, the reference
    the channel gave), when, and how it went so far."""

    decision_id: int
    channel: str
    chat: str
    user_id: str
    lang: str
    reference: dict[str, str] | None = None
    due_at: float | None = None
    attempts: int = 0
    failures: int = 0
    sent_at: float | None = None
    answered_at: float | None = None

    @property
    def key(self) -> ConversationKey:
        """The conversation the question goes to, and where its answer comes from."""
        return ConversationKey(self.channel, self.chat, self.user_id)


class Turn(Protocol):
    """One turn of one conversation, in one transaction that holds the conversation's lock
    across every process on the database: load, decide, then save or record. Nothing is
    written until the `async with` block ends without an error."""

    async def load(self) -> ConversationState | None:
        """The conversation's saved state, or None for a new one."""
        ...

    async def save(self, state: ConversationState) -> None:
        """Saves the conversation's new state (at commit)."""
        ...

    async def record_decision(self, record: DecisionRecord, state: ConversationState) -> int:
        """Records a decision, the new state and the user's department; returns the id, which
        is final once the block has ended without an error."""
        ...

    async def last_department(self) -> str | None:
        """The department this user gave last time (read inside the turn)."""
        ...

    async def last_decision(self) -> StoredDecision | None:
        """This user's most recent decision on this channel (read inside the turn)."""
        ...

    async def schedule_followup(self, decision_id: int, due_at: float, lang: str) -> None:
        """Puts a decision of this conversation on the follow-up due-list (at commit)."""
        ...

    async def open_followup(self, decision_id: int | None = None) -> FollowUp | None:
        """The follow-up of this conversation that was asked and not answered (the one of
        `decision_id`, else the latest asked); None when there is none."""
        ...

    async def record_actual(self, decision_id: int, actual: str, now: float) -> bool:
        """Stores what really happened as the decision's actual outcome and closes its
        follow-up; False (nothing written) if it was answered before."""
        ...


class Storage(Protocol):
    """What the engine needs from storage: SQLite (embedded) or PostgreSQL (shared)."""

    def turn(self, key: ConversationKey) -> AbstractAsyncContextManager[Turn]:
        """A turn of `key`'s conversation: `async with storage.turn(key) as tx:`. Turns of one
        conversation run one at a time, in order, across processes; an error in the block
        rolls the turn back."""
        ...

    async def load_conversation(self, key: ConversationKey) -> ConversationState | None:
        """The saved state of a conversation, or None for a new one."""
        ...

    async def save_conversation(self, key: ConversationKey, state: ConversationState) -> None:
        """Saves a conversation's state."""
        ...

    async def record_decision(
        self, key: ConversationKey, record: DecisionRecord, state: ConversationState
    ) -> int:
        """Records a decision, the conversation's new state and the user's department at once."""
        ...

    async def last_department(self, key: ConversationKey) -> str | None:
        """The department this user gave last time, to offer it again."""
        ...

    async def last_decision(self, key: ConversationKey) -> StoredDecision | None:
        """This user's most recent decision on this channel."""
        ...

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        """One decision by id."""
        ...

    async def recent_decisions(
        self, channel: str, user_id: str, limit: int = 10
    ) -> list[StoredDecision]:
        """A user's latest decisions on a channel, newest first."""
        ...

    async def claim_delivery(self, source: str, delivery_id: str, now: float) -> bool:
        """Records a platform delivery (event or update id); False if it was seen before, so a
        redelivered event is handled once."""
        ...

    async def set_followup_reference(
        self, key: ConversationKey, decision_id: int, reference: dict[str, str]
    ) -> None:
        """Keeps what a channel needs to write to the person later (Teams: serviceUrl,
        conversation and tenant) with the follow-up of `key`'s decision; nothing otherwise."""
        ...

    async def claim_followups(
        self, holder: str, now: float, *, channels: tuple[str, ...], lease: float, limit: int
    ) -> list[FollowUp]:
        """Due, unanswered follow-ups on `channels`, each claimed for `holder` for `lease`
        seconds: another instance claims none of them until the claim runs out."""
        ...

    async def followup_sent(
        self, decision_id: int, holder: str, now: float, next_due: float | None
    ) -> None:
        """A claimed follow-up was asked at `now`: counts it, sets when to ask again (None:
        never) and releases the claim."""
        ...

    async def followup_failed(self, decision_id: int, holder: str, retry_at: float | None) -> None:
        """A claimed follow-up could not be sent: counts the failure, tries again at
        `retry_at` (None: never) and releases the claim."""
        ...

    async def ping(self) -> None:
        """Raises StorageError when the database cannot be read and written."""
        ...

    async def close(self) -> None:
        """Releases the connection."""
        ...
