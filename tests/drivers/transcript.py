"""A client of the machine contract (README, "The jsonl contract"), which REST shares: the
replies pile up in a transcript that nothing edits, and a press sends the choice with the
step of the question its button belongs to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.drivers import QuestionRef, Shown


def as_shown(message: dict[str, Any]) -> Shown:
    """A contract message as a client shows it: its text, and a question's choice values."""
    if message["type"] != "question":
        return Shown(message["text"])
    return Shown(message["text"], tuple(choice["value"] for choice in message["choices"]))


@dataclass
class Transcript:
    """Every message the bot sent, in order (a question's id is its place here)."""

    messages: list[dict[str, Any]] = field(default_factory=list)

    def add(self, replies: list[dict[str, Any]]) -> list[Shown]:
        self.messages.extend(replies)
        return [as_shown(reply) for reply in replies]

    def press(self, value: str, question: QuestionRef | None) -> dict[str, Any]:
        """What the client sends for the button `value` of `question` (the latest one)."""
        question = question or self.latest_question()
        asked = self.messages[int(question.id)]
        assert value in as_shown(asked).buttons, f"no button {value!r} on {asked['text']!r}"
        return {"choice": value, "step": asked["step"]}

    def latest_question(self) -> QuestionRef:
        for place in range(len(self.messages) - 1, -1, -1):
            shown = as_shown(self.messages[place])
            if shown.buttons:
                return QuestionRef(str(place), shown.text, shown.buttons)
        raise AssertionError("no question with buttons")

    def seen(self, question: QuestionRef) -> Shown:
        """A transcript's message stays as it was sent."""
        return as_shown(self.messages[int(question.id)])
