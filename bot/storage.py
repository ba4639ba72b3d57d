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


class StoredDecision(DecisionRecord):
    """A recorded decision; `purged_at` is set once its personal identifiers were removed."""

    id: int
    purged_at: float | None = None


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

    async def ping(self) -> None:
        """Raises StorageError when the database cannot be read and written."""
        ...

    async def close(self) -> None:
        """Releases the connection."""
        ...
