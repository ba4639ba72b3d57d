"""The recommendation a check ends in, with the reasons that decided it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from rules.models import FocusArea, Lang

Outcome = Literal["travel", "digital", "not_qualified"]


class Reason(BaseModel):
    """One rule that applied: a code, its explanation in the user's language, the plan section."""

    model_config = ConfigDict(frozen=True)
    code: str
    text: str
    section: str
    section_id: str


class Decision(BaseModel):
    """The outcome of a check. `id` is given when the decision is recorded."""

    model_config = ConfigDict(frozen=True)
    outcome: Outcome
    focus_area: FocusArea
    advisories: tuple[Reason, ...]
    reasons: tuple[Reason, ...]
    guidelines: tuple[Reason, ...]
    rules_version: str
    lang: Lang
    partner: str | None = None
    destination: str | None = None
    co2: dict[str, Any] | None = None
    id: int | None = None

    @property
    def advisory_codes(self) -> list[str]:
        """The advisories' codes, for machine-readable output."""
        return [a.code for a in self.advisories]
