"""A fake Telegram Bot API for tests: answers like Telegram, keeps the messages it was sent,
serves queued updates to getUpdates, and records every call for assertions.

It is as strict as Telegram where our code could go wrong: HTML must parse, a message's text
must be 1-4096 characters after parsing, callback data at most 64 bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_USER = {"id": 123, "is_bot": True, "first_name": "Tripcheck", "username": "tripcheck_bot"}
# Parameters that are strings as sent; PTB JSON-encodes every other value in the form.
STRING_PARAMETERS = frozenset(
    {"text", "parse_mode", "url", "secret_token", "callback_query_id", "language_code"}
)
# Telegram's HTML tags (enough for what the bot may send).
TAGS = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline"}
# A long poll returns after this long at most, so that a test's shutdown is quick.
LONGEST_POLL = 0.5


class BadRequest(Exception):
    """The fake refuses a call as Telegram would, with its description."""


@dataclass
class Call:
    """One Bot API call: the method and its decoded parameters."""

    method: str
    params: dict[str, Any]


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class _HtmlEntities(HTMLParser):
    """Telegram's HTML parse mode: the plain text and its entities (offsets in UTF-16)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.entities: list[dict[str, Any]] = []
        self.open: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in TAGS:
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag {tag!r}")
        self.open.append((tag, utf16_length(self.text)))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise BadRequest(f"Bad Request: can't parse entities: unexpected end tag {tag!r}")
        _, start = self.open.pop()
        length = utf16_length(self.text) - start
        if length:
            self.entities.append({"type": TAGS[tag], "offset": start, "length": length})

    def handle_data(self, data: str) -> None:
        self.text += data


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text as Telegram shows it, and its entities; BadRequest for malformed HTML."""
    parser = _HtmlEntities()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise BadRequest("Bad Request: can't parse entities: unclosed tag")
    return parser.text, parser.entities


class FakeTelegram:
    """The fake server's state; `app` is the ASGI app to serve with tests.servers.running."""

    def __init__(self, token: str = "123:abc") -> None:
        self.token = token
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.failures: list[tuple[str, int, dict[str, Any]]] = []
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._next_message_id = 1
        self._next_update_id = 1000
        self.longest_poll = LONGEST_POLL
        self.delays: dict[str, float] = {}
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._endpoint, methods=["POST"])]
        )

    # --- what tests use -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every call to `method`, in order."""
        return [call.params for call in self.calls if call.method == method]

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """The messages sent to a chat, as they are now (after edits)."""
        return [m for (chat, _), m in sorted(self.messages.items()) if chat == chat_id]

    def delay(self, method: str, seconds: float) -> None:
        """Every call to `method` is answered this much later (a slow Telegram)."""
        self.delays[method] = seconds

    def fail_next(self, method: str, status: int, **parameters: Any) -> None:
        """The next call to `method` fails with this HTTP status (e.g. 429 with retry_after)."""
        self.failures.append((method, status, parameters))

    def new_update_id(self) -> int:
        self._next_update_id += 1
        return self._next_update_id

    def push(self, update: dict[str, Any]) -> None:
        """Queues an update for getUpdates."""
        self._updates.append(update)
        self._new_update.set()

    def wake_pollers(self) -> None:
        """Ends the long polls waiting now (with no updates), e.g. before shutting down."""
        self._new_update.set()

    async def wait_for(self, condition: Any, timeout: float = 5.0) -> None:
        """Polls until condition() is true; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                methods = [call.method for call in self.calls]
                raise AssertionError(f"timed out; calls so far: {methods}")
            await asyncio.sleep(0.01)

    # --- the Bot API --------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401
            )
        method = request.path_params["method"]
        form = await request.form()
        params = {
            name: value if name in STRING_PARAMETERS else _decoded(str(value))
            for name, value in form.items()
        }
        self.calls.append(Call(method, params))
        await asyncio.sleep(self.delays.get(method, 0))
        for index, (failing, status, parameters) in enumerate(self.failures):
            if failing == method:
                del self.failures[index]
                body = {"ok": False, "error_code": status, "description": "injected failure"}
                if parameters:
                    body["parameters"] = parameters
                return JSONResponse(body, status_code=status)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return JSONResponse(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404
            )
        try:
            result = await handler(params)
        except BadRequest as error:
            return JSONResponse(
                {"ok": False, "error_code": 400, "description": str(error)}, status_code=400
            )
        return JSONResponse({"ok": True, "result": result})

    async def _getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _setMyCommands(self, params: dict[str, Any]) -> Any:
        for command in params["commands"]:
            if not 1 <= len(command["description"]) <= 256:
                raise BadRequest("Bad Request: command description is too long")
        return True

    async def _setWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _sendMessage(self, params: dict[str, Any]) -> Any:
        text, entities = self._text(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT_USER,
            "text": text,
        }
        self._next_message_id += 1
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    async def _editMessageText(self, params: dict[str, Any]) -> Any:
        message = self._message(params)
        text, entities = self._text(params)
        if text == message["text"] and "reply_markup" not in message:
            raise BadRequest("Bad Request: message is not modified")
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        # Telegram removes the keyboard when an edit does not repeat it.
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            _check_markup(params["reply_markup"])
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        message = self._message(params)
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            _check_markup(params["reply_markup"])
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset", 0))
        # An offset confirms every update before it: Telegram forgets them.
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update.clear()
            wait = min(float(params.get("timeout", 0)), self.longest_poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), wait)
        return [u for u in self._updates if u["update_id"] >= offset]

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise BadRequest("Bad Request: message to edit not found")
        return self.messages[key]

    def _text(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        raw = params.get("text", "")
        if params.get("parse_mode") == "HTML":
            text, entities = parse_html(raw)
        else:
            text, entities = raw, []
        if not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_length(text) > 4096:
            raise BadRequest("Bad Request: message is too long")
        return text, entities


def _decoded(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


def _check_markup(markup: Any) -> None:
    if not markup:
        return
    for row in markup["inline_keyboard"]:
        for button in row:
            if len(button.get("callback_data", "").encode()) > 64:
                raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
