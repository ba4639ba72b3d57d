"""Drivers for the cross-channel scenario matrix (tests/test_channel_matrix.py).

Each channel's driver talks to the real channel over loopback HTTP (or its real stdin/stdout
contract) with the platform's fake server behind it, and shows what the user sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.engine import Engine
from bot.messages import ConversationKey


@dataclass(frozen=True)
class Shown:
    """One message as the user sees it: its text, and the values of its buttons (if any)."""

    text: str
    buttons: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionRef:
    """A question message the user can still press buttons on (as an old client shows it)."""

    id: str
    text: str
    buttons: tuple[str, ...]


class ChannelDriver(Protocol):
    """A user of one channel. `engine` and `key` let a test read what was recorded; a test
    moves time on by replacing `engine.clock`.

    Each channel module (tests/drivers/<channel>.py) has
    `open_driver(locale: str | None) -> AsyncContextManager[ChannelDriver]`: a fresh server,
    fake platform and in-memory database, the user's platform set to `locale`."""

    engine: Engine
    key: ConversationKey

    async def say(self, text: str) -> list[Shown]:
        """Types `text`; the messages the bot sent for it."""
        ...

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        """Presses the button `value` on `question` (the latest question by default)."""
        ...

    def latest_question(self) -> QuestionRef:
        """The latest message with buttons, as the user's client shows it now."""
        ...

    async def seen(self, question: QuestionRef) -> Shown:
        """How `question`'s message looks now (edited, buttons removed, ...)."""
        ...
