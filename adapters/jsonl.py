"""The jsonl channel: one JSON object per line in, one per line out. The machine contract."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from rules.models import Lang

EXAMPLE = '{"text": "..."} / {"choice": "..."}'


@dataclass(frozen=True)
class LineError:
    """An input line that is not a message: the text id to answer with, and the detail."""

    text_id: str
    problem: str = ""


def parse_line(line: str, lang: Lang | None) -> Incoming | LineError:
    """An Incoming from one input line, or what is wrong with it."""
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as error:
        return LineError("error.bad_json", error.msg)
    if not isinstance(data, dict):
        return LineError("error.bad_message")
    text, choice = data.get("text"), data.get("choice")
    step = data.get("step")
    if isinstance(choice, str | int) and not isinstance(choice, bool):
        return Incoming(choice=str(choice), step=step if isinstance(step, str) else None, lang=lang)
    if isinstance(text, str):
        return Incoming(text=text, lang=lang)
    return LineError("error.bad_message")


async def handle_line(
    engine: Engine, key: ConversationKey, line: str, lang: Lang | None
) -> list[dict[str, Any]]:
    """The replies to one input line, as JSON objects."""
    incoming = parse_line(line, lang)
    if isinstance(incoming, LineError):
        conversation_lang = await engine.conversation_lang(key) if lang is None else lang
        text = engine.rules.text(
            incoming.text_id, conversation_lang, problem=incoming.problem, example=EXAMPLE
        )
        return [Outgoing("error", text).to_json()]
    result = await engine.handle(key, incoming)
    return [message.to_json() for message in result.replies]


async def run(
    engine: Engine,
    key: ConversationKey,
    lang: Lang | None,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> None:
    """Reads messages until end of input, writing every reply as soon as it is produced."""
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        for reply in await handle_line(engine, key, line, lang):
            stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        stdout.flush()
