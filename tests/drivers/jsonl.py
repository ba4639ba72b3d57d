"""The jsonl driver of the scenario matrix: `tripcheck chat --jsonl` in-process (the loop of
adapters.jsonl.run over the lines it reads and writes, on an engine the test can reach, so a
test can move its clock). The jsonl chat has no platform locale: its `--lang` stands in for it.
tests/test_cli.py runs the real process."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from adapters import jsonl
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.state import Role
from rules.models import Lang
from storage.sqlite.store import SQLiteStorage
from tests.drivers import Loopback, QuestionRef, Shown
from tests.drivers.telegram import shipped_rules
from tests.drivers.transcript import Transcript

USER = "anna"


@dataclass
class JsonlDriver:
    """Automation speaking the machine contract on stdin/stdout (see ChannelDriver)."""

    engine: Engine
    key: ConversationKey
    lang: Lang | None
    role: Role = "employee"
    edits_sent: bool = False
    transcript: Transcript = field(default_factory=Transcript)

    async def say(self, text: str) -> list[Shown]:
        return await self._send({"text": text})

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        return await self._send(self.transcript.press(value, question))

    def latest_question(self) -> QuestionRef:
        return self.transcript.latest_question()

    async def seen(self, question: QuestionRef) -> Shown:
        return self.transcript.seen(question)

    async def _send(self, message: dict[str, Any]) -> list[Shown]:
        """Writes one line to the chat's input; the lines it wrote for it."""
        stdin = io.StringIO(json.dumps(message, ensure_ascii=False) + "\n")
        stdout = io.StringIO()
        await jsonl.run(self.engine, self.key, self.lang, stdin, stdout)
        replies = [json.loads(line) for line in stdout.getvalue().splitlines()]
        return self.transcript.add(replies)


@contextlib.asynccontextmanager
async def open_driver(
    locale: str | None, servers: Loopback | None = None
) -> AsyncIterator[JsonlDriver]:
    """The jsonl chat on an in-memory database, as `--lang locale` starts it (no --lang for
    None); `servers` is not needed (the chat is no server)."""
    lang: Lang | None = "sv" if locale == "sv" else "en" if locale == "en" else None
    assert lang == locale, f"the jsonl chat's --lang takes sv or en, not {locale!r}"
    engine = Engine(shipped_rules(), await SQLiteStorage.open(":memory:"))
    try:
        yield JsonlDriver(engine, ConversationKey("terminal", USER, USER), lang)
    finally:
        await engine.close()
