"""The platform-neutral messages the engine takes and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rules.models import Lang

OutgoingType = Literal["message", "question", "decision", "error"]


@dataclass(frozen=True)
class ConversationKey:
    """Whose conversation: the channel (platform), the chat or thread, and the user in it."""

    channel: str
    chat: str
    user: str


@dataclass(frozen=True)
class Incoming:
    """A typed message or a chosen button value; `lang` is the platform's hint for new users."""

    text: str | None = None
    choice: str | None = None
    lang: Lang | None = None


@dataclass(frozen=True)
class Choice:
    """A button: what it shows and the value sent back when it is chosen."""

    label: str
    value: str


@dataclass(frozen=True)
class Outgoing:
    """One message to show: text, plus choices for a question or the decision for a decision.

    `multi`: several choices may be picked (goals). `free_text`: the choices are only
    suggestions and a typed answer is expected (partner, department)."""

    type: OutgoingType
    text: str
    step: str | None = None
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    free_text: bool = False
    decision: dict[str, Any] | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """The machine contract (jsonl, REST): type and text, plus step/choices or decision."""
        data: dict[str, Any] = {"type": self.type, "text": self.text}
        if self.type == "question":
            data["step"] = self.step
            data["choices"] = [{"label": c.label, "value": c.value} for c in self.choices]
            if self.multi:
                data["multi"] = True
            if self.free_text:
                data["free_text"] = True
        if self.decision is not None:
            data["decision"] = self.decision
        return data
