"""The shared edge of every chat channel: capped bodies, guarded JSON, cleaned text and
Slack's signature checked on raw bytes. Each works on its own; the server and channels use it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.chat_kit import (
    BadJson,
    BodyLimit,
    BodyTooLarge,
    clean_line,
    clean_strings,
    clean_text,
    parse_json,
    parse_json_object,
    raw_header,
    read_body,
    receive_body,
    replayed,
)

LIMIT = 4096


def hostile_json() -> list[tuple[str, bytes]]:
    return [
        ("deeply nested", b"[" * 100_000 + b"]" * 100_000),
        ("nested past the guard", json.dumps({"a": [[[[[[[[[[[[[[]]]]]]]]]]]]]]}).encode()),
        ("5000-digit number", b'{"n": ' + b"7" * 5000 + b"}"),
        ("not UTF-8", b'{"text": "\xff\xfe\xc3"}'),
        ("UTF-16 that json.loads would guess", '{"a": 1}'.encode("utf-16")),
        ("NaN", b'{"n": NaN}'),
        ("Infinity", b"[-Infinity]"),
        ("empty", b""),
        ("truncated", b'{"a": '),
    ]


@pytest.mark.parametrize(("what", "body"), hostile_json(), ids=[w for w, _ in hostile_json()])
def test_hostile_json_is_bad_json_not_a_crash(what: str, body: bytes) -> None:
    with pytest.raises(BadJson) as refused:
        parse_json(body, max_depth=10)
    print(f"tried {what}: refused as {refused.value}")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": [1, {"b": "c"}]}', {"a": [1, {"b": "c"}]}),
        ('"plain"', "plain"),
        ("12", 12),
        ('{"sv": "Åre → Luleå", "s": "\\ud800"}', {"sv": "Åre → Luleå", "s": "\ud800"}),
    ],
)
def test_ordinary_json_parses(text: str, value: Any) -> None:
    assert parse_json(text.encode()) == value


def test_an_object_is_required_where_asked() -> None:
    with pytest.raises(BadJson, match="not an object"):
        parse_json_object(b"[1, 2]")


@pytest.mark.parametrize(
    ("raw", "text", "line"),
    [
        ("hej\ud800då", "hej\ufffddå", "hej\ufffddå"),
        ("\udfff", "\ufffd", "\ufffd"),
        ("bell\x07 nul\x00 esc\x1b del\x7f c1\x85", "bell nul esc del c1", "bell nul esc del c1"),
        ("two\nlines\r\nand\ttab", "two\nlines\nand\ttab", "two lines and tab"),
        ("  Luleå–Tromsø  ", "  Luleå–Tromsø  ", "Luleå–Tromsø"),
        ("english", "english", "english"),
    ],
)
def test_text_is_cleaned_of_what_cannot_be_stored(raw: str, text: str, line: str) -> None:
    assert clean_text(raw) == text
    assert clean_line(raw) == line
    clean_text(raw).encode("utf-8")  # always encodable


def test_every_string_of_a_payload_is_cleaned() -> None:
    payload = {"us\ud800er": ["x\x00", {"b": "\udfff", "n": 1, "t": True}], "e": None}
    assert clean_strings(payload) == {
        "us\ufffder": ["x", {"b": "\ufffd", "n": 1, "t": True}],
        "e": None,
    }
    deep: Any = "\ud800"
    for _ in range(60):
        deep = [deep]
    cleaned = clean_strings(deep)
    for _ in range(60):
        cleaned = cleaned[0]
    assert cleaned == "\ufffd" and clean_strings("\x07") == "" and clean_strings(3) == 3


# --- capped bodies ------------------------------------------------------------------------


def body_app(limit: int = LIMIT) -> tuple[Starlette, list[int]]:
    """An app whose route reads the body with read_body, and records what it got."""
    seen: list[int] = []

    async def echo(request: Request) -> Response:
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            return Response(status_code=413)
        again = await replayed(request, body).body()
        seen.append(len(again))
        return JSONResponse({"size": len(body)})

    return Starlette(routes=[Route("/echo", echo, methods=["POST"])]), seen


def chunks(total: int, size: int = 1024) -> AsyncIterator[bytes]:
    async def stream() -> AsyncIterator[bytes]:
        sent = 0
        while sent < total:
            sent += size
            yield b"x" * size

    return stream()


@pytest.fixture
def client_for() -> Any:
    def make(app: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://edge")

    return make


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_a_body_within_the_limit_is_read_whole(size: int, client_for: Any) -> None:
    app, seen = body_app()
    async with client_for(app) as client:
        response = await client.post("/echo", content=b"y" * size)
    assert response.json() == {"size": size} and seen == [size]


async def test_a_declared_length_over_the_limit_is_refused_unread(client_for: Any) -> None:
    app, seen = body_app()
    async with client_for(app) as client:
        response = await client.post("/echo", content=b"y" * (LIMIT + 1))
    assert response.status_code == 413 and seen == []


async def test_a_streamed_body_is_refused_when_it_passes_the_limit(client_for: Any) -> None:
    app, seen = body_app()
    async with client_for(app) as client:
        response = await client.post("/echo", content=chunks(LIMIT * 100))
    assert response.status_code == 413 and seen == []


def limited(limit: int = LIMIT) -> tuple[BodyLimit, list[int]]:
    """A route that reads its body carelessly (whole), behind the BodyLimit middleware."""
    reached: list[int] = []

    async def careless(request: Request) -> Response:
        reached.append(len(await request.body()))
        return Response("ok")

    app = Starlette(routes=[Route("/hook", careless, methods=["POST", "GET"])])
    return BodyLimit(app, limit=limit), reached


@pytest.mark.parametrize(
    ("what", "content", "headers"),
    [
        ("declared too large", b"z" * (LIMIT + 1), {}),
        ("streamed too large", chunks(LIMIT * 50), {}),
        ("5000-digit Content-Length", b"z", {"content-length": "9" * 5000}),
        ("non-numeric Content-Length", b"z", {"content-length": "lots"}),
    ],
)
async def test_the_middleware_refuses_before_the_route_runs(
    what: str, content: Any, headers: dict[str, str], client_for: Any
) -> None:
    app, reached = limited()
    async with client_for(app) as client:
        response = await client.post("/hook", content=content, headers=headers)
    print(f"tried {what}: {response.status_code}, route reached {len(reached)} time(s)")
    assert response.status_code == 413 and reached == []
    assert response.headers["connection"] == "close"


async def test_the_middleware_passes_bodies_within_the_limit(client_for: Any) -> None:
    app, reached = limited()
    async with client_for(app) as client:
        assert (await client.post("/hook", content=b"a" * LIMIT)).status_code == 200
        assert (await client.get("/hook")).status_code == 200
    assert reached == [LIMIT, 0]


async def test_the_middleware_answers_408_to_a_body_that_never_ends() -> None:
    async def endless(request: Request) -> Response:
        raise AssertionError("the route must not run")

    app = BodyLimit(Starlette(routes=[Route("/hook", endless, methods=["POST"])]), LIMIT, 0.05)
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b"a", "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/hook", "headers": [], "query_string": b""}
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 408


def _receiving(messages: list[dict[str, Any]]) -> Any:
    """An ASGI receive giving `messages` in order, then waiting for ever (a silent client)."""
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop(0)
        await asyncio.Event().wait()
        raise AssertionError

    return receive


def _scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/hook", "headers": headers or []}


@pytest.mark.parametrize(
    ("messages", "body"),
    [
        ([{"type": "http.request", "body": b"whole", "more_body": False}], b"whole"),
        (
            [
                {"type": "http.request", "body": b"in ", "more_body": True},
                {"type": "http.request", "body": b"", "more_body": True},
                {"type": "http.request", "body": b"parts", "more_body": False},
            ],
            b"in parts",
        ),
        ([{"type": "http.request"}], b""),
    ],
)
async def test_a_bare_asgi_body_is_received_whole(
    messages: list[dict[str, Any]], body: bytes
) -> None:
    assert await receive_body(_scope(), _receiving(messages), LIMIT, 1.0) == body


@pytest.mark.parametrize(
    ("headers", "messages", "refused"),
    [
        ([(b"content-length", b"4097")], [], BodyTooLarge),
        ([(b"content-length", b"12abc")], [], BodyTooLarge),
        (
            [],
            [
                {"type": "http.request", "body": b"a" * LIMIT, "more_body": True},
                {"type": "http.request", "body": b"a", "more_body": True},
            ],
            BodyTooLarge,
        ),
        ([], [{"type": "http.disconnect"}], ClientDisconnect),
        ([], [{"type": "http.request", "body": b"a", "more_body": True}], TimeoutError),
    ],
    ids=["declared", "unusable length", "streamed past", "client gone", "never ends"],
)
async def test_a_bare_asgi_body_is_refused_as_soon_as_it_must_be(
    headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]], refused: type
) -> None:
    with pytest.raises(refused):
        await receive_body(_scope(headers), _receiving(messages), LIMIT, 0.05)


def test_a_raw_header_is_found_by_its_lower_case_name() -> None:
    scope = _scope([(b"content-type", b"text/plain"), (b"authorization", b"Bearer x")])
    assert raw_header(scope, b"authorization") == "Bearer x"
    assert raw_header(scope, b"content-length") is None
