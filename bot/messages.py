"""The platform-neutral contract between the engine and every channel."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rules.models import Lang

# `hint`: the input was not understood or belongs elsewhere (the user can fix it);
# `error`: the system failed (storage down, a bug), nothing the user did.
OutgoingType = Literal["message", "question", "decision", "hint", "error"]


@dataclass(frozen=True)
class ConversationKey:
    """Whose conversation: the channel (platform), the chat or thread, and the user in it."""

    channel: str
    chat: str
    user: str


@dataclass(frozen=True)
class Incoming:
    """A typed message or a pressed button. A press carries the `step` of the question its
    button belongs to, so a press on an old question answers nothing. `lang` is the
    platform's language hint for a new conversation."""

    text: str | None = None
    choice: str | None = None
    step: str | None = None
    lang: Lang | None = None


@dataclass(frozen=True)
class Choice:
    """A button: what it shows and the value sent back when it is chosen."""

    label: str
    value: str


@dataclass(frozen=True)
class CitedLine:
    """A reason or advisory with the plan section it comes from."""

    code: str
    text: str
    cite: str


@dataclass(frozen=True)
class ClimateRow:
    """One way to meet or travel, with its round-trip CO2e for the party."""

    mode: str
    label: str
    value: str
    planned: bool = False
    lowest: bool = False

    def text(self) -> str:
        """The row in running text: 'tåg 52 kg (9 h) – planerat'."""
        return f"{self.label} {self.value}"


# The step a decision's buttons (Details, Share) carry: "decision.<id>", so a press on an
# older decision's button is told from one on the latest.
DECISION_STEP = "decision"


def decision_step(decision_id: int | None) -> str:
    """The step of a decision's buttons."""
    return DECISION_STEP if decision_id is None else f"{DECISION_STEP}.{decision_id}"


def is_decision_step(step: str | None) -> bool:
    """Whether a press came from a decision's buttons rather than a question's."""
    return step is not None and step.partition(".")[0] == DECISION_STEP


@dataclass(frozen=True)
class DecisionView:
    """A decision's short form, rendered once in its language; every channel maps this structure
    to its own markup and never rebuilds it. The rest is in its DecisionDetails, on request."""

    headline: str
    # At most three, the most telling first, each with its plan section.
    reasons: tuple[CitedLine, ...]
    # One line: what is planned, the best reasonable alternative and the saving.
    climate: str | None
    # Only the travel guidelines that change something for this trip.
    guidelines: tuple[str, ...]
    footer: str
    # What to type for the rest or for a text to share; channels with buttons show those.
    more: str

    def lines(self) -> list[str]:
        """The short decision as plain lines (terminal, jsonl and REST, the message fallback)."""
        return [*self.shown_lines(), self.more]

    def shown_lines(self) -> list[str]:
        """Every line but `more`: what a channel with Details and Share buttons shows."""
        lines = [self.headline]
        lines.extend(f"• {reason.text} {reason.cite}" for reason in self.reasons)
        if self.climate:
            lines.append(self.climate)
        lines.extend(f"→ {guideline}" for guideline in self.guidelines)
        lines.append(self.footer)
        return lines


@dataclass(frozen=True)
class DecisionDetails:
    """Everything behind a decision ("varför?" / "details"): every reason and advisory with its
    plan section, every guideline, every climate row and what meeting digitally avoids."""

    title: str
    reasons: tuple[CitedLine, ...]
    advisories: tuple[CitedLine, ...]
    guidelines: tuple[str, ...]
    climate_heading: str
    climate: tuple[ClimateRow, ...]
    climate_note: str | None
    footer: str
    headings: dict[str, str]

    def lines(self) -> list[str]:
        """The details as plain lines of text."""
        lines = [self.title]
        for heading, items in (
            (self.headings["reasons"], self.reasons),
            (self.headings["advisories"], self.advisories),
        ):
            if items:
                lines.append(heading)
                lines.extend(f"• {item.text} {item.cite}" for item in items)
        if self.guidelines:
            lines.append(self.headings["guidelines"])
            lines.extend(f"• {g}" for g in self.guidelines)
        if self.climate:
            lines.append(self.climate_heading)
            lines.extend(f"• {row.text()}" for row in self.climate)
        if self.climate_note:
            lines.append(self.climate_note)
        lines.append(self.footer)
        return lines


@dataclass(frozen=True)
class Outgoing:
    """One message to show: text, plus choices for a question or the decision for a decision.

    `multi`: several choices may be picked (goals). `free_text`: the choices are only
    suggestions and a typed answer is expected (partner, department). A decision carries its
    machine-readable `decision` (the jsonl contract) and its rendered short `view`; its details,
    asked for afterwards, come as a message carrying `details`. A decision's and its details'
    choices are the Details and Share buttons, with the decision's step."""

    type: OutgoingType
    text: str
    step: str | None = None
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    free_text: bool = False
    decision: dict[str, Any] | None = field(default=None)
    view: DecisionView | None = field(default=None, compare=False)
    details: DecisionDetails | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        """The machine contract (jsonl, REST): type and text, plus step/choices or decision
        (with its Details and Share choices)."""
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
            if self.choices:
                # Details and Share, sent back like a question's buttons.
                data["step"] = self.step
                data["choices"] = [{"label": c.label, "value": c.value} for c in self.choices]
        return data


@dataclass(frozen=True)
class TurnResult:
    """What one turn did: the replies, whether the input was taken (an answer accepted, a
    command obeyed), the conversation's language and the step now open (None when idle).

    A channel marks a question answered only when `taken` is true."""

    replies: tuple[Outgoing, ...]
    taken: bool
    lang: Lang
    step: str | None = None
