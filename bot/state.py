"""A conversation's state: everything needed to continue it after a restart."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from rules.models import Lang

Phase = Literal["idle", "asking", "did_you_mean", "confirm", "change", "resume"]
Role = Literal["employee", "partner_contact"]
TRANSCRIPT_LIMIT = 300


class Answer(BaseModel):
    """One answer: as typed, as interpreted, and as shown back."""

    raw: str
    value: Any
    label: str


class PendingOption(BaseModel):
    value: str
    answer: Answer


class Pending(BaseModel):
    """A did-you-mean question waiting for the user: the candidates and the text as typed."""

    field: str
    typed: Answer
    options: list[PendingOption]


class ConversationState(BaseModel):
    """Saved after every turn; the phase and step say which question is open."""

    lang: Lang
    role: Role = "employee"
    phase: Phase = "idle"
    step: str | None = None
    answers: dict[str, Answer] = Field(default_factory=dict)
    order: list[str] = Field(default_factory=list)
    pending: Pending | None = None
    failures: int = 0
    resume_phase: Phase | None = None
    last_department: str | None = None
    # The number of travellers of the user's previous decision, offered again.
    last_travellers: int | None = None
    started_at: float = 0.0
    updated_at: float = 0.0
    transcript: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        """Whether a check has been started and not yet recorded or cancelled."""
        return self.phase != "idle"

    def values(self) -> dict[str, Any]:
        """The interpreted answers by field."""
        return {field: answer.value for field, answer in self.answers.items()}

    def note(self, at: float, step: str | None, received: str) -> None:
        """Adds an incoming message to the transcript, keeping its most recent part."""
        self.transcript.append({"at": round(at, 3), "step": step, "in": received})
        if len(self.transcript) > TRANSCRIPT_LIMIT:
            del self.transcript[: len(self.transcript) - TRANSCRIPT_LIMIT]
