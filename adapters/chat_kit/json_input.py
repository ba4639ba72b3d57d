"""JSON from outside, parsed so that no input can raise anything but BadJson: not UTF-8, too
deeply nested, numbers too long for int(), NaN and Infinity are all bad input, not a crash."""

from __future__ import annotations

import json
from typing import Any

# Deeper than any platform's payload (Slack's block actions reach about 12).
MAX_DEPTH = 64


class BadJson(ValueError):
    """The input is not acceptable JSON; the message says why, briefly (for a log line)."""


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def parse_json(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of `data` (bytes must be UTF-8); BadJson for anything else."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BadJson("the body is not UTF-8") from error
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except RecursionError as error:
        raise BadJson("the JSON is nested too deeply") from error
    except json.JSONDecodeError as error:
        raise BadJson(f"not JSON: {error.msg}") from error
    except BadJson:
        raise
    except ValueError as error:
        # int() refuses numbers longer than sys.get_int_max_str_digits().
        raise BadJson("a number in the JSON is too long") from error
    if _depth_exceeds(value, max_depth):
        raise BadJson(f"the JSON is nested deeper than {max_depth} levels")
    return value


def parse_json_object(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """parse_json, for input that must be a JSON object."""
    value = parse_json(data, max_depth=max_depth)
    if not isinstance(value, dict):
        raise BadJson("the JSON is not an object")
    return value


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether containers nest deeper than max_depth (iteratively: no recursion to exhaust)."""
    if not isinstance(value, dict | list):
        return False
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        current, depth = pending.pop()
        children = current.values() if isinstance(current, dict) else current
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > max_depth:
                    return True
                pending.append((child, depth + 1))
    return False
