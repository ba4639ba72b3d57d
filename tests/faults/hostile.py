"""A seeded generator of hostile inputs for a chat channel: JSON that is too deep, numbers too
long for int(), bytes that are not UTF-8, lone surrogates and control characters in every
field, wrong types, truncations; and ordinary messages with hostile text, so that some reach
the engine. The same seed gives the same inputs, so a failure can be replayed."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator

SEED = 14
WEIRD_STRINGS = [
    "\ud800",
    "\udfff",
    "a\ud83dz",
    "\x00",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "\u200b\u200d\ufeff",
    "e\u0301\u0301\u0301",
    "🧳✈️🌍",
    "Luleå",
    "\r\n\t",
    "' OR 1=1 --",
    '=HYPERLINK("x")',
    "<script>alert(1)</script>",
    "%s%n{0}{text}",
    "\\",
    "null",
    "",
    " ",
    "x" * 5000,
]


def _weird_string(rng: random.Random) -> str:
    parts = rng.choices(WEIRD_STRINGS, k=rng.randint(1, 4))
    if rng.random() < 0.3:
        parts.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 20))))
    return "".join(parts)


def _weird_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randint(0, 9 if depth < 3 else 6)
    if kind <= 2:
        return _weird_string(rng)
    if kind == 3:
        return rng.choice([0, -1, 2**63, 10**300, 1.5, -0.0, 1e308])
    if kind == 4:
        return rng.choice([True, False, None])
    if kind == 5:
        return rng.choice(["sv", "en", "fi", ""])
    if kind == 6:
        return rng.choice(["trip", "save", "yes", "no", "digital", "restart"])
    if kind <= 8:
        return [_weird_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_weird_string(rng): _weird_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _dump(value: object) -> bytes:
    """JSON with lone surrogates as \\u escapes (as a hostile client sends them)."""
    return json.dumps(value).encode()


def _message(rng: random.Random, text_field: str, choice_field: str) -> bytes:
    body: dict[str, object] = {"sender": rng.choice(["fuzz-a", "fuzz-b", _weird_string(rng)])}
    if rng.random() < 0.5:
        body[text_field] = _weird_string(rng)
    else:
        body[choice_field] = _weird_value(rng)
    if rng.random() < 0.3:
        body["lang"] = _weird_value(rng)
    return _dump(body)


def _structural(rng: random.Random, text_field: str, choice_field: str) -> bytes:
    kind = rng.randint(0, 11)
    depth = rng.choice([100, 1000, 5000, 20_000])
    if kind == 0:
        return b"[" * depth + b"]" * depth
    if kind == 1:
        inner = b'{"a":' * depth + b"1" + b"}" * depth
        return b'{"sender": "s", "' + text_field.encode() + b'": ' + inner + b"}"
    if kind == 2:
        digits = str(rng.randint(1, 9)).encode() * rng.choice([4301, 5000, 20_000])
        field = rng.choice([b"sender", text_field.encode(), choice_field.encode()])
        return b'{"' + field + b'": ' + digits + b"}"
    if kind == 3:
        return bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 200)))
    if kind == 4:
        body = _message(rng, text_field, choice_field)
        cut = rng.randint(0, len(body))
        return body[:cut]
    if kind == 5:
        body = _message(rng, text_field, choice_field)
        spot = rng.randint(0, len(body))
        return body[:spot] + bytes([rng.choice([0x80, 0xC3, 0xFF, 0xED])]) + body[spot:]
    if kind == 6:
        return rng.choice([b"NaN", b"[Infinity]", b'{"sender": -Infinity}', b"{}", b"[]", b"null"])
    if kind == 7:
        return _dump(_weird_value(rng))
    if kind == 8:
        return '{"sender": "s", "message": "Luleå"}'.encode(rng.choice(["latin-1", "utf-16"]))
    if kind == 9:
        return b'{"sender": "s", "sender": ["dup"], "message": "x"}'
    if kind == 10:
        return b'\xef\xbb\xbf{"sender": "bom", "message": "x"}'
    return b'{"sender": "s", "message": "' + b"\\ud800" * rng.randint(1, 50) + b'"}'


def hostile_bodies(
    count: int, *, text_field: str = "message", choice_field: str = "choice", seed: int = SEED
) -> Iterator[bytes]:
    """`count` hostile request bodies (a third of them well-formed messages)."""
    rng = random.Random(seed)
    makers: list[Callable[[random.Random, str, str], bytes]] = [_structural, _structural, _message]
    for _ in range(count):
        yield rng.choice(makers)(rng, text_field, choice_field)
