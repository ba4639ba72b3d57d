"""What every chat channel needs at its HTTP edge, before any platform code sees a request:
a capped body, a guarded JSON parse, text cleaned of what no database or log can hold, and
(for Slack) the signature checked on the raw bytes."""

from adapters.chat_kit.body import BodyLimit, BodyTooLarge, read_body, replayed
from adapters.chat_kit.clean import clean_line, clean_strings, clean_text
from adapters.chat_kit.json_input import BadJson, parse_json, parse_json_object

__all__ = [
    "BadJson",
    "BodyLimit",
    "BodyTooLarge",
    "clean_line",
    "clean_strings",
    "clean_text",
    "parse_json",
    "parse_json_object",
    "read_body",
    "replayed",
]
