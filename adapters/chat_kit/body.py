"""Request bodies read with a cap: never more than the limit in memory, 413 as soon as the
declared or the received size passes it, and before anything parses the body."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("tripcheck.server")
# How long a client may take to send a whole body once its headers are in.
BODY_SECONDS = 30.0


class BodyTooLarge(Exception):
    """The request body is (or says it is) larger than the limit."""


def declared_length(value: str | None) -> int | None:
    """A Content-Length header's value as a number; None when absent; BodyTooLarge when it
    is not a plain decimal number (so no one can make int() chew on 5000 digits)."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise BodyTooLarge(f"unusable Content-Length {value[:20]!r}")
    return int(value)


def raw_header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case) of an ASGI request, without building
    a headers object."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body of `request`, read chunk by chunk; BodyTooLarge as soon as
    Content-Length or the bytes read so far pass `limit` (the rest is never read)."""
    declared = declared_length(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"Content-Length {declared} is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body passed the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def receive_body(scope: Scope, receive: Receive, limit: int, timeout: float) -> bytes:
    """read_body for a bare ASGI request: BodyTooLarge past `limit`, TimeoutError if the
    body is not in within `timeout` seconds, ClientDisconnect if the client went away."""
    declared = declared_length(raw_header(scope, b"content-length"))
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"Content-Length {declared} is over the limit of {limit}")
    async with asyncio.timeout(timeout):
        message = await receive()
        chunks: list[bytes] = []
        size = 0
        while True:
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"the body passed the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
            message = await receive()


def replayed(request: Request, body: bytes) -> Request:
    """A copy of `request` whose body is `body` (already read), for code that reads it again,
    such as a platform SDK's request handler."""
    return Request(request.scope, _replaying(body, request.receive))


def _replaying(body: bytes, receive: Receive) -> Receive:
    """An ASGI receive that gives `body` whole, then whatever `receive` gives (a disconnect)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class BodyLimit:
    """ASGI middleware: every HTTP request's body is read (capped) before the app runs, so no
    route can be made to hold more than `limit` bytes of one request, whatever it does with
    the body. 413 beyond the limit, 408 if the body is not in within `timeout` seconds."""

    def __init__(self, app: ASGIApp, limit: int, timeout: float = BODY_SECONDS) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await capped_body(scope, receive, send, self.limit, self.timeout)
        if body is not None:
            await self.app(scope, _replaying(body, receive), send)


# A refusal that answers (and closes) a request whose body was too large (413) or too slow
# (408): plain text by default, a channel's own format where it has one.
Refuse = Callable[[Send, int], Awaitable[None]]
_REFUSED = {413: b"the request body is too large", 408: b"the request body was not sent in time"}


async def _refuse(send: Send, status: int) -> None:
    """A short plain-text answer that also closes the connection, so the unread rest of the
    body is never read."""
    text = _REFUSED[status]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(text)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text})


async def capped_body(
    scope: Scope,
    receive: Receive,
    send: Send,
    limit: int,
    timeout: float = BODY_SECONDS,
    refuse: Refuse = _refuse,
) -> bytes | None:
    """The request's body (receive_body), or None once it has been answered: 413 beyond
    `limit`, 408 after `timeout` (by `refuse`), nothing if the client went away."""
    try:
        return await receive_body(scope, receive, limit, timeout)
    except BodyTooLarge as error:
        log.warning("request refused: %s", error, extra={"path": scope["path"]})
        await refuse(send, 413)
    except TimeoutError:
        log.warning("request refused: the body was not sent in time", extra={"path": scope["path"]})
        await refuse(send, 408)
    except ClientDisconnect:
        pass  # nobody left to answer
    return None
