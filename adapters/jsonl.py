"""The jsonl channel: one JSON object per line in, one per line out. The machine contract.

Any line gets an answer and the channel goes on: a line that is not UTF-8, not JSON, nested
too deeply or with a number too long for int() gets one `error` line. Text is cleaned of
lone surrogates and control characters, and the streams are UTF-8 whatever the locale."""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from adapters.chat_kit import BadJson, clean_line, clean_text, parse_json
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, Outgoing
from rules.models import Lang

EXAMPLE = '{"text": "..."} / {"choice": "..."}'
# The longest input line read; the rest of a longer one is skipped, with one error line.
MAX_LINE = 1024 * 1024
# What stdin's "surrogateescape" decoding makes of bytes that are not UTF-8.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class LineError:
    """An input line that is not a message: the text id to answer with, and the detail."""

    text_id: str
    problem: str = ""


def use_utf8_streams(stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    """Reads and writes UTF-8 whatever the locale (LC_ALL=C makes Python's default ASCII):
    undecodable input bytes are kept as surrogates for parse_line to refuse, and output
    that cannot be encoded is escaped rather than fatal."""
    if isinstance(stdin, io.TextIOWrapper):
        stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
    if isinstance(stdout, io.TextIOWrapper):
        stdout.reconfigure(encoding="utf-8", errors="backslashreplace")


def parse_line(line: str, lang: Lang | None) -> Incoming | LineError:
    """An Incoming from one input line, or what is wrong with it."""
    if _UNDECODABLE.search(line):
        return LineError("error.bad_json", "the line is not UTF-8")
    try:
        data: Any = parse_json(line)
    except BadJson as error:
        return LineError("error.bad_json", str(error))
    if not isinstance(data, dict):
        return LineError("error.bad_message")
    text, choice = data.get("text"), data.get("choice")
    step = data.get("step")
    if isinstance(choice, str | int) and not isinstance(choice, bool):
        return Incoming(
            choice=clean_line(str(choice)), step=step if isinstance(step, str) else None, lang=lang
        )
    if isinstance(text, str):
        return Incoming(text=clean_text(text), lang=lang)
    return LineError("error.bad_message")


async def handle_line(
    engine: Engine, key: ConversationKey, line: str, lang: Lang | None
) -> list[dict[str, Any]]:
    """The replies to one input line, as JSON objects."""
    return await _answer(engine, key, parse_line(line, lang), lang)


async def _answer(
    engine: Engine, key: ConversationKey, incoming: Incoming | LineError, lang: Lang | None
) -> list[dict[str, Any]]:
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
    while raw := stdin.readline(MAX_LINE + 1):
        if len(raw) > MAX_LINE and not raw.endswith("\n"):
            _skip_line(stdin)
            too_long = LineError("error.bad_json", f"the line is longer than {MAX_LINE} characters")
            replies = await _answer(engine, key, too_long, lang)
        else:
            line = raw.strip()
            if not line:
                continue
            replies = await handle_line(engine, key, line, lang)
        for reply in replies:
            stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
        stdout.flush()


def _skip_line(stdin: TextIO) -> None:
    """Reads the rest of an overlong line, a bounded piece at a time."""
    while (piece := stdin.readline(MAX_LINE)) and not piece.endswith("\n"):
        pass
