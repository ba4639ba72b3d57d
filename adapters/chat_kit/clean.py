"""Text from outside cleaned once, at the edge: no lone surrogates (which neither UTF-8, the
database driver nor a log line can encode) and no control characters."""

from __future__ import annotations

import re

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
