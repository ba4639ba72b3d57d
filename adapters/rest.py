"""The REST channel, for a web chat and automation: POST a message, get the replies.

Every request is answered: 413 for a body over the server's cap (read no further) or over
MAX_BODY, 401 without the token, 400 for anything that is not a message, with a short log
line and never a 500.
REST has no delivery id: a client that sends a message twice means it twice."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.chat_kit import (
    BadJson,
    capped_body,
    clean_line,
    clean_text,
    parse_json_object,
    raw_header,
)
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from bot.settings import Settings

log = logging.getLogger("tripcheck.rest")
MAX_BODY = 64 * 1024
MAX_SENDER = 200
PATH = "/webhooks/rest"
_JSON = (b"content-type", b"application/json")


class RestChannel:
    """`POST /webhooks/rest` with a bearer token; the reply is the list of outgoing messages.

    A bare ASGI app rather than a Starlette endpoint: the server sends its POSTs straight
    here (`direct_routes`), past the middleware, since this channel answers a turn per
    request and the framework's share of that was as large as the turn's own. It caps its
    body itself, as the middleware would (`server_cap`), then at MAX_BODY."""

    name = "rest"

    def __init__(self, engine: Engine, token: str, server_cap: int = MAX_BODY) -> None:
        self.engine = engine
        self._token = token.encode()
        self._server_cap = server_cap

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return [Route(PATH, self, methods=["POST"])]

    @property
    def direct_routes(self) -> Mapping[str, ASGIApp]:
        return {PATH: self}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _authorised(self, scope: Scope) -> bool:
        scheme, _, token = (raw_header(scope, b"authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # First, and to the server's cap, as every route's body is: too large is refused
        # before anything else, and a message over this channel's own limit is answered on a
        # connection that stays usable.
        body = await capped_body(scope, receive, send, self._server_cap, refuse=_refuse)
        if body is None:
            return
        if not self._authorised(scope):
            await _answer(send, 401, {"error": "a valid bearer token is required"})
            return
        if len(body) > MAX_BODY:
            log.warning("rest: refused a request: the body is over %s bytes", MAX_BODY)
            await _answer(send, 413, {"error": "the message is too large"})
            return
        parsed = _parse(body)
        if isinstance(parsed, str):
            log.warning("rest: refused a request: %s", parsed)
            await _answer(send, 400, {"error": parsed})
            return
        sender, incoming = parsed
        key = ConversationKey("rest", sender, sender)
        result = await self.engine.handle(key, incoming)
        await _answer(send, 200, [reply.to_json() for reply in result.replies])


async def _refuse(send: Send, status: int) -> None:
    """A body too large (413) or too slow (408): the rest is never read, so the connection
    cannot be reused."""
    error = "the message is too large" if status == 413 else "the body was not sent in time"
    await _answer(send, status, {"error": error}, close=True)


async def _answer(send: Send, status: int, content: Any, *, close: bool = False) -> None:
    """A JSON response, as Starlette's JSONResponse writes it."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    encoded = body.encode()
    headers = [(b"content-length", str(len(encoded)).encode()), _JSON]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": encoded})


def _parse(body: bytes) -> tuple[str, Incoming] | str:
    """The sender and message of a request body (cleaned of lone surrogates and control
    characters), or what is wrong with it."""
    try:
        data: dict[str, Any] = parse_json_object(body)
    except BadJson as error:
        return f'the body must be a JSON object {{"sender": "...", "message": "..."}}: {error}'
    sender = data.get("sender")
    if not isinstance(sender, str | int) or isinstance(sender, bool):
        return '"sender" must be a non-empty string'
    sender = clean_line(str(sender))
    if not sender:
        return '"sender" must be a non-empty string'
    if len(sender) > MAX_SENDER:
        return f'"sender" must be at most {MAX_SENDER} characters'
    lang = data.get("lang") if data.get("lang") in ("sv", "en") else None
    step = data.get("step")
    if step is not None and not isinstance(step, str):
        return '"step" must be a string (the question\'s step)'
    if isinstance(data.get("choice"), str):
        return sender, Incoming(choice=clean_line(data["choice"]), step=step, lang=lang)
    if isinstance(data.get("message"), str):
        return sender, Incoming(text=clean_text(data["message"]), lang=lang)
    return 'give "message" (typed text) or "choice" (a button value)'


def channel(settings: Settings, engine: Engine) -> RestChannel | None:
    """The REST channel, on when TRIPCHECK_REST_TOKEN is set."""
    if settings.rest_token is None or not settings.rest_token.get_secret_value():
        log.info("channel off: set TRIPCHECK_REST_TOKEN to enable it", extra={"channel": "rest"})
        return None
    return RestChannel(engine, settings.rest_token.get_secret_value(), settings.max_body_bytes)
