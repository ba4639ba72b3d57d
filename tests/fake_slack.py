"""A fake Slack for tests: the Web API answers the methods the bot calls as Slack does, keeps
the messages it was sent and the Home tabs it published, and records every call for
assertions; FakeSocketMode is Slack's end of a Socket Mode connection.

It is as strict as Slack where our code could go wrong: a wrong token is refused, and blocks
must keep Block Kit's limits (text lengths, button labels and values, unique ids)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.servers import free_port

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0LULEA"
DEFAULT_LOCALE = "en-US"
BLOCK_TYPES = frozenset({"section", "actions", "header", "context", "divider"})


class SlackError(Exception):
    """The fake refuses a call as Slack would, with Slack's error code."""


@dataclass
class Call:
    """One Web API call: the method and its parameters (query, form and JSON merged)."""

    method: str
    params: dict[str, Any]


class FakeSlack:
    """The Web API at `{url}/api/<method>`; `locales` gives users.info's locale per user."""

    def __init__(
        self, token: str, locales: dict[str, str] | None = None, app_token: str = ""
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.url = ""  # set once it is served
        self.socket_url = ""  # what apps.connections.open gives (Socket Mode)
        self.reset(locales)
        self._numbers = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self.handle, methods=["GET", "POST"]),
                Route("/response/{id}", self.response_url, methods=["POST"]),
            ]
        )
        self.methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.post_message,
            "chat.update": self.update,
            "views.publish": self.publish,
            "views.open": self.open_view,
            "views.update": self.update_view,
            "users.info": self.users_info,
            "conversations.open": self.open_conversation,
            "apps.connections.open": self.open_connection,
        }

    def reset(self, locales: dict[str, str] | None = None) -> None:
        """Forgets every call, message and Home tab (a new workspace for the next test)."""
        self.locales = dict(locales or {})
        # Methods that fail, with Slack's error code, as when Slack is having trouble.
        self.failures: dict[str, str] = {}
        self.calls: list[Call] = []
        # Every message the bot posted, by (channel, ts), as it is now (after updates).
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.homes: dict[str, dict[str, Any]] = {}
        # Every modal opened, by view id, as it is now (after updates), with its hash; and
        # the trigger ids used (each opens one view).
        self.views: dict[str, dict[str, Any]] = {}
        self.triggers_used: set[str] = set()

    async def handle(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params: dict[str, Any] = dict(request.query_params)
        body = await request.body()
        if body and request.headers.get("content-type", "").startswith("application/json"):
            params.update(json.loads(body))
        elif body:
            params.update(parse_qsl(body.decode()))
        self.calls.append(Call(method, params))
        # Socket Mode's URL is asked for with the app-level token, everything else with the bot's.
        token = self.app_token if method == "apps.connections.open" else self.token
        if not token or request.headers.get("authorization") != f"Bearer {token}":
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        answer = self.methods.get(method)
        if method in self.failures:
            return JSONResponse({"ok": False, "error": self.failures[method]})
        if answer is None:
            return JSONResponse({"ok": False, "error": "unknown_method"})
        try:
            return JSONResponse({"ok": True, **answer(params)})
        except SlackError as error:
            return JSONResponse({"ok": False, "error": str(error)})

    async def response_url(self, request: Request) -> JSONResponse:
        """A slash command's response_url (hooks.slack.com): recorded as "response_url"."""
        params = json.loads(await request.body())
        self.calls.append(Call("response_url", {"id": request.path_params["id"], **params}))
        return JSONResponse({"ok": True})

    def response_url_for(self, number: int) -> str:
        return f"{self.url}/response/{number}"

    # --- methods ------------------------------------------------------------------------

    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://lulea.slack.com/",
            "team": "Luleå kommun",
            "user": "tripcheck",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        blocks = _blocks(params)
        if not params.get("text") and not blocks:
            raise SlackError("no_text")
        ts = f"{int(time.time())}.{next(self._numbers):06d}"
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "channel": channel,
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": blocks,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = params["thread_ts"]
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self.messages.get((params.get("channel", ""), params.get("ts", "")))
        if message is None:
            raise SlackError("message_not_found")
        message["text"] = params.get("text", "")
        message["blocks"] = _blocks(params)
        return {"channel": message["channel"], "ts": message["ts"], "text": message["text"]}

    def publish(self, params: dict[str, Any]) -> dict[str, Any]:
        view = params.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not params.get("user_id") or not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        check_blocks(view.get("blocks") or [], limit=100)
        self.homes[params["user_id"]] = view
        return {"view": {"id": f"V{next(self._numbers)}", **view}}

    def open_view(self, params: dict[str, Any]) -> dict[str, Any]:
        """views.open: a modal for a trigger id, which opens one view only."""
        trigger = str(params.get("trigger_id") or "")
        if not trigger:
            raise SlackError("invalid_arguments")
        if trigger in self.triggers_used:
            raise SlackError("expired_trigger_id")
        view = _view(params)
        self.triggers_used.add(trigger)
        view_id = f"V{next(self._numbers):08d}"
        self.views[view_id] = {**view, "id": view_id, "hash": f"h{next(self._numbers)}"}
        return {"view": self.views[view_id]}

    def update_view(self, params: dict[str, Any]) -> dict[str, Any]:
        """views.update: replaces an open modal; a stale hash is a conflict, as in Slack."""
        current = self.views.get(str(params.get("view_id") or ""))
        if current is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = _view(params)
        view_id = current["id"]
        self.views[view_id] = {**view, "id": view_id, "hash": f"h{next(self._numbers)}"}
        return {"view": self.views[view_id]}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user")
        if not user_id:
            raise SlackError("user_not_found")
        user: dict[str, Any] = {"id": user_id, "team_id": TEAM_ID, "name": user_id.lower()}
        if str(params.get("include_locale")).lower() in ("1", "true"):
            locale = self.locales.get(user_id, DEFAULT_LOCALE)
            if locale:  # "" : the user has none set
                user["locale"] = locale
        return {"user": user}

    def open_conversation(self, params: dict[str, Any]) -> dict[str, Any]:
        users = params.get("users")
        if not users:
            raise SlackError("users_list_not_supplied")
        return {"channel": {"id": dm_channel(str(users))}}

    def open_connection(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.socket_url:
            raise SlackError("socket_mode_not_enabled")
        return {"url": self.socket_url}

    # --- for assertions -----------------------------------------------------------------

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def posted(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages in a channel (or in one of its threads), oldest first."""
        return [
            message
            for (where, _), message in self.messages.items()
            if where == channel and (thread_ts is None or message.get("thread_ts") == thread_ts)
        ]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Polls until `condition` holds (the bot works after it has answered Slack)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")
            await asyncio.sleep(0.01)


def dm_channel(user: str) -> str:
    """The id of the DM between the bot and `user`, as conversations.open gives it."""
    return f"D{user}"


def _blocks(params: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = params.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    check_blocks(blocks)
    return list(blocks)


def _view(params: dict[str, Any]) -> dict[str, Any]:
    view = params.get("view")
    if isinstance(view, str):
        view = json.loads(view)
    if not isinstance(view, dict):
        raise SlackError("invalid_arguments")
    check_modal(view)
    return view


def check_modal(view: dict[str, Any]) -> None:
    """Refuses a modal Slack would refuse: its texts, metadata and input blocks."""
    if view.get("type") != "modal" or not 0 < len(str(view.get("callback_id", ""))) <= 255:
        raise SlackError("invalid_arguments")
    _text(view.get("title"), 24, plain=True)
    for button in ("submit", "close"):
        if button in view:
            _text(view[button], 24, plain=True)
    if len(str(view.get("private_metadata", ""))) > 3000:
        raise SlackError("invalid_arguments")
    blocks = view.get("blocks") or []
    inputs = [b for b in blocks if b.get("type") == "input"]
    if inputs and "submit" not in view:
        raise SlackError("invalid_arguments")
    check_blocks([b for b in blocks if b.get("type") != "input"], limit=100)
    block_ids = [b.get("block_id") for b in blocks if b.get("block_id")]
    if len(blocks) > 100 or len(block_ids) != len(set(block_ids)):
        raise SlackError("invalid_blocks")
    action_ids: set[str] = set()
    for block in inputs:
        _text(block.get("label"), 2000, plain=True)
        if "hint" in block:
            _text(block["hint"], 2000, plain=True)
        element = block.get("element") or {}
        action_id = str(element.get("action_id", ""))
        if action_id in action_ids or not 0 < len(action_id) <= 255:
            raise SlackError("invalid_blocks")
        action_ids.add(action_id)
        _input_element(element)


def _input_element(element: dict[str, Any]) -> None:
    kind = element.get("type")
    limits = {"radio_buttons": 10, "checkboxes": 10, "static_select": 100}
    if kind in limits:
        options = element.get("options") or []
        if not 0 < len(options) <= limits[str(kind)]:
            raise SlackError("invalid_blocks")
        for option in options:
            _option(option)
        initial = element.get("initial_options") or [element.get("initial_option")]
        if any(o is not None and o not in options for o in initial):
            raise SlackError("invalid_blocks")
    elif kind == "external_select":
        if "initial_option" in element:
            _option(element["initial_option"])
    elif kind == "plain_text_input":
        if len(str(element.get("initial_value", ""))) > 3000:
            raise SlackError("invalid_blocks")
    else:
        raise SlackError("invalid_blocks")
    if "placeholder" in element:
        _text(element["placeholder"], 150, plain=True)


def _option(option: Any) -> None:
    if not isinstance(option, dict):
        raise SlackError("invalid_blocks")
    _text(option.get("text"), 75, plain=True)
    if not 0 < len(str(option.get("value", ""))) <= 150:
        raise SlackError("invalid_blocks")


def check_blocks(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    """Refuses blocks Slack would refuse (invalid_blocks), within the kinds the bot sends."""
    if len(blocks) > limit:
        raise SlackError("invalid_blocks")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for block in blocks:
        kind = block.get("type")
        if kind not in BLOCK_TYPES:
            raise SlackError("invalid_blocks")
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids or not 0 < len(block_id) <= 255:
                raise SlackError("invalid_blocks")
            block_ids.add(block_id)
        if kind == "section":
            _text(block.get("text"), 3000)
            if "accessory" in block:
                _element(block["accessory"])
        elif kind == "header":
            _text(block.get("text"), 150, plain=True)
        elif kind == "context":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 10:
                raise SlackError("invalid_blocks")
            for element in elements:
                _text(element, 3000)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 0 < len(elements) <= 25:
                raise SlackError("invalid_blocks")
            for element in elements:
                action_id = element.get("action_id", "")
                if action_id in action_ids or not 0 < len(action_id) <= 255:
                    raise SlackError("invalid_blocks")
                action_ids.add(action_id)
                _element(element)


def _element(element: dict[str, Any]) -> None:
    if element.get("type") == "button":
        _text(element.get("text"), 75, plain=True)
        if len(element.get("value", "")) > 2000:
            raise SlackError("invalid_blocks")
    elif element.get("type") == "checkboxes":
        options = element.get("options") or []
        if not 0 < len(options) <= 10:
            raise SlackError("invalid_blocks")
        for option in options:
            _text(option.get("text"), 75)
            if not 0 < len(option.get("value", "")) <= 150:
                raise SlackError("invalid_blocks")
    else:
        raise SlackError("invalid_blocks")


def _text(text: Any, limit: int, plain: bool = False) -> None:
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if (
        not isinstance(text, dict)
        or text.get("type") not in kinds
        or not 0 < len(str(text.get("text", ""))) <= limit
    ):
        raise SlackError("invalid_blocks")


class FakeSocketMode:
    """Slack's end of Socket Mode: a WebSocket on loopback that pushes envelopes to the app
    and collects the acknowledgements it sends back."""

    def __init__(self) -> None:
        self.url = ""
        self.connected = asyncio.Event()
        self._acks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self._envelopes = itertools.count(1)

    async def __aenter__(self) -> FakeSocketMode:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"ws://127.0.0.1:{port}/link"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self._acks.put(json.loads(message.data))
        return socket

    async def push(self, payload: dict[str, Any], kind: str = "events_api") -> dict[str, Any]:
        """Sends one envelope (as Slack does for an event) and returns the app's ack."""
        await asyncio.wait_for(self.connected.wait(), 5)
        assert self._socket is not None
        envelope = {
            "envelope_id": f"env-{next(self._envelopes)}",
            "type": kind,
            "payload": payload,
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self._socket.send_json(envelope)
        ack = await asyncio.wait_for(self._acks.get(), 5)
        assert ack["envelope_id"] == envelope["envelope_id"]
        return ack
