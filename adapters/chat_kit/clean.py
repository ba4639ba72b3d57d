"""Text from outside cleaned once, at the edge: no lone surrogates (which neither UTF-8, the
database driver nor a log line can encode) and no control characters."""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_SURROGATES = re.compile("[\ud800-\udfff]")
# C0 and C1 controls and DEL; tabs and line breaks are kept in typed text.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\t\n\r]+")


def clean_text(value: str) -> str:
    """Typed text with lone surrogates replaced by U+FFFD and control characters removed;
    tabs and line breaks stay (a carriage return becomes a line break)."""
    value = _SURROGATES.sub(REPLACEMENT, value)
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def clean_line(value: str) -> str:
    """A one-line value (a sender id, a button value): clean_text, with tabs and line breaks
    as single spaces, trimmed."""
    return _LINE_BREAKS.sub(" ", clean_text(value)).strip()


def clean_strings(value: Any) -> Any:
    """A parsed JSON value with every string in it (keys too) passed through clean_text: for a
    platform payload whose ids and texts all come from outside. Iterative, so any depth that
    parse_json accepted is fine."""
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    pending: list[tuple[Any, Any]] = [(value, root)]
    while pending:
        source, target = pending.pop()
        pairs = source.items() if isinstance(source, dict) else ((None, i) for i in source)
        for key, item in pairs:
            if isinstance(item, dict | list):
                copy: Any = {} if isinstance(item, dict) else []
                pending.append((item, copy))
            else:
                copy = clean_text(item) if isinstance(item, str) else item
            if isinstance(target, dict):
                target[clean_text(str(key))] = copy
            else:
                target.append(copy)
    return root
