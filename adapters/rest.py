"""The REST channel, for a web chat and automation: POST a message, get the replies.

Every request is answered: 401 without the token, 413 for a body over MAX_BODY (read no
further), 400 for anything that is not a message, with a short log line and never a 500.
REST has no delivery id: a client that sends a message twice means it twice."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters.chat_kit import (
    BadJson,
    BodyTooLarge,
    clean_line,
    clean_text,
    parse_json_object,
    read_body,
)
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from bot.settings import Settings

log = logging.getLogger("tripcheck.rest")
MAX_BODY = 64 * 1024
MAX_SENDER = 200


class RestChannel:
    """`POST /webhooks/rest` with a bearer token; the reply is the list of outgoing messages."""

    name = "rest"

    def __init__(self, engine: Engine, token: str) -> None:
        self.engine = engine
        self._token = token.encode()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/webhooks/rest", self.receive, methods=["POST"])]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _authorised(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), self._token)

    async def receive(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"error": "a valid bearer token is required"}, status_code=401)
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge as error:
            log.warning("rest: refused a request: %s", error)
            return JSONResponse({"error": "the message is too large"}, status_code=413)
        parsed = _parse(body)
        if isinstance(parsed, str):
            log.warning("rest: refused a request: %s", parsed)
            return JSONResponse({"error": parsed}, status_code=400)
        sender, incoming = parsed
        key = ConversationKey("rest", sender, sender)
        result = await self.engine.handle(key, incoming)
        return JSONResponse([reply.to_json() for reply in result.replies])


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
    return RestChannel(engine, settings.rest_token.get_secret_value())
