"""Fakes of Bot Framework for tests on loopback: the connector that Teams activities name as
their serviceUrl, which records every activity sent or updated and answers with ids; and the
OpenID metadata and signing keys, with a test key that signs tokens.

The connector is as strict as Teams where our code could go wrong: a message has text or an
Adaptive Card, at most 40 KB (UTF-16); only an activity sent to that conversation can be
updated."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CARD = "application/vnd.microsoft.card.adaptive"
MAX_MESSAGE_BYTES = 40 * 1024
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
ACTIONS = frozenset({"Action.Submit", "Action.Execute"})
# Teams refreshes a card automatically for at most this many users.
MAX_REFRESH_USERS = 60


@dataclass
class ConnectorCall:
    """One call to the connector: a message sent (`method` "send", or "reply" to
    `activity_id`), or an update of activity `activity_id` ("update")."""

    method: str
    conversation_id: str
    activity_id: str | None
    activity: dict[str, Any]
    authorization: str | None
    id: str

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card the activity carries, if any."""
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == CARD:
                return attachment["content"]  # type: ignore[no-any-return]
        return None

    @property
    def text(self) -> str:
        """Every text in the activity: its text, or the card's text blocks and facts."""
        card = self.card
        if card is None:
            return str(self.activity.get("text") or "")
        return "\n".join(card_texts(card))


def card_texts(element: Any) -> list[str]:
    """The texts shown in a card (text blocks, facts, choices, button titles), in order."""
    found: list[str] = []
    if isinstance(element, dict):
        kind = element.get("type")
        if kind == "TextBlock":
            found.append(str(element.get("text", "")))
        elif kind == "FactSet":
            found.extend(f"{f['title']}: {f['value']}" for f in element.get("facts", []))
        elif kind == "Input.ChoiceSet":
            found.extend(str(c["title"]) for c in element.get("choices", []))
        elif kind in ACTIONS:
            found.append(str(element.get("title", "")))
        for key in ("body", "items", "actions", "columns"):
            found.extend(card_texts(element.get(key)))
    elif isinstance(element, list):
        for item in element:
            found.extend(card_texts(item))
    return found


class FakeConnector:
    """The Bot Framework connector at an activity's serviceUrl (v3 conversations API)."""

    def __init__(self) -> None:
        self.calls: list[ConnectorCall] = []
        # Status codes to answer the next sends with (e.g. 429), before accepting them, and the
        # Retry-After they name (None: no such header).
        self.refuse_next: list[int] = []
        self.retry_after: str | None = "0"
        self.refused: list[int] = []
        self._ids = itertools.count(1_790_000_000_001)
        self._sent_to: dict[str, str] = {}
        activities = "/v3/conversations/{conversation_id}/activities"
        self.app = Starlette(
            routes=[
                Route(activities, self._create, methods=["POST"]),
                Route(
                    activities + "/{activity_id}", self._reply_or_update, methods=["POST", "PUT"]
                ),
            ]
        )

    @property
    def sent(self) -> list[ConnectorCall]:
        return [c for c in self.calls if c.method in ("send", "reply")]

    @property
    def updated(self) -> list[ConnectorCall]:
        return [c for c in self.calls if c.method == "update"]

    def last_card(
        self, where: Callable[[dict[str, Any]], bool] = lambda card: True
    ) -> ConnectorCall:
        """The latest message sent with a card that `where` accepts."""
        for call in reversed(self.sent):
            if call.card is not None and where(call.card):
                return call
        raise AssertionError(f"no such card among {len(self.sent)} sent messages")

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Polls until `condition()` holds; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {self.calls}")
            await asyncio.sleep(0.005)

    async def _create(self, request: Request) -> Response:
        return await self._record(request, "send", None)

    async def _reply_or_update(self, request: Request) -> Response:
        method = "update" if request.method == "PUT" else "reply"
        return await self._record(request, method, request.path_params["activity_id"])

    async def _record(self, request: Request, method: str, activity_id: str | None) -> Response:
        conversation_id = request.path_params["conversation_id"]
        body = await request.body()
        if len(body.decode().encode("utf-16-le")) > MAX_MESSAGE_BYTES:
            return _error(413, "MessageSizeTooBig", "the message is larger than 40 KB")
        activity = json.loads(body)
        problem = _problem(activity)
        if problem:
            return _error(400, "BadArgument", problem)
        if method != "update" and self.refuse_next:
            status = self.refuse_next.pop(0)
            self.refused.append(status)
            headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
            return _error(status, "Throttled", "slow down", headers=headers)
        base = conversation_id.split(";")[0]
        if method == "update":
            if self._sent_to.get(activity_id or "") != base:
                return _error(404, "ActivityNotFound", f"no activity {activity_id} here")
            new_id = activity_id or ""
        else:
            new_id = str(next(self._ids))
            self._sent_to[new_id] = base
        authorization = request.headers.get("authorization")
        self.calls.append(
            ConnectorCall(method, conversation_id, activity_id, activity, authorization, new_id)
        )
        return JSONResponse({"id": new_id})


def _problem(activity: Any) -> str | None:
    """Why Teams would refuse this activity, or None."""
    if not isinstance(activity, dict) or activity.get("type") != "message":
        return "an activity of type message is expected"
    attachments = activity.get("attachments") or []
    if not activity.get("text") and not attachments:
        return "a message needs text or an attachment"
    for attachment in attachments:
        if attachment.get("contentType") != CARD:
            return f"unexpected attachment {attachment.get('contentType')!r}"
        card = attachment.get("content") or {}
        if card.get("type") != "AdaptiveCard" or not card.get("version"):
            return "an Adaptive Card needs its type and version"
        if not isinstance(card.get("body"), list):
            return "an Adaptive Card needs a body"
        for action in card.get("actions") or []:
            if action.get("type") not in ACTIONS or not action.get("title"):
                return f"unexpected action {action!r}"
            if action["type"] == "Action.Execute" and not action.get("verb"):
                return "an Action.Execute needs its verb"
        problem = _refresh_problem(card)
        if problem:
            return problem
    return None


def _refresh_problem(card: dict[str, Any]) -> str | None:
    """Why Teams would not refresh a card (Universal Actions, cards 1.4 and later)."""
    refresh = card.get("refresh")
    if refresh is None:
        return None
    action = refresh.get("action") or {}
    if action.get("type") != "Action.Execute" or not action.get("verb"):
        return "a card's refresh needs an Action.Execute with a verb"
    users = refresh.get("userIds")
    if not isinstance(users, list) or not 0 < len(users) <= MAX_REFRESH_USERS:
        return "a refresh names 1 to 60 userIds"
    if not all(isinstance(u, str) and u for u in users):
        return "userIds are Teams user ids"
    if tuple(int(n) for n in str(card.get("version", "0")).split(".")) < (1, 4):
        return "refresh needs an Adaptive Card of version 1.4 or later"
    return None


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


@dataclass
class FakeBotFrameworkKeys:
    """Bot Framework's OpenID metadata and signing keys, serving one test key; it signs tokens
    as Bot Framework would for a bot. Set `available` to False to make the keys fail (500)."""

    kid: str = "tripcheck-test-key"
    available: bool = True
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    # Where the fake is served; set once it runs.
    url: str = ""
    app: Starlette = field(init=False)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/v1/.well-known/openidconfiguration", self._metadata),
                Route("/v1/.well-known/keys", self._keys),
            ]
        )

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    def token(
        self,
        audience: str,
        service_url: str,
        *,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        lifetime: float = 3600,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        expires: bool = True,
    ) -> str:
        """A token as Bot Framework sends with an activity (signed by the test key unless
        another `key` is given; without an expiry if not `expires`)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "serviceurl": service_url,
            "iat": now - 60,
            "nbf": now - 60,
        }
        if expires:
            claims["exp"] = now + int(lifetime)
        headers = {"kid": kid or self.kid}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers=headers)

    async def _metadata(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: Request) -> Response:
        if not self.available:
            return Response("unavailable", status_code=500)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update(kid=self.kid, use="sig", endorsements=["msteams"])
        return JSONResponse({"keys": [public]})
