"""What the Slack, Telegram and Teams channels share, written once: the HTTP edge (a capped
body, a guarded JSON parse, text cleaned of what no database or log can hold, the Slack
signature checked on the raw bytes), locale to language, secrets and choice values."""

from adapters.chat_kit.body import (
    BodyLimit,
    BodyTooLarge,
    capped_body,
    raw_header,
    read_body,
    receive_body,
    replayed,
)
from adapters.chat_kit.clean import clean_line, clean_strings, clean_text
from adapters.chat_kit.json_input import BadJson, parse_json, parse_json_object

__all__ = [
    "BadJson",
    "BodyLimit",
    "BodyTooLarge",
    "capped_body",
    "clean_line",
    "clean_strings",
    "clean_text",
    "parse_json",
    "parse_json_object",
    "raw_header",
    "read_body",
    "receive_body",
    "replayed",
]
