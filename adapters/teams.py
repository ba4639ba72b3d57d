"""The Microsoft Teams channel: Bot Framework activities at POST /api/messages, replies and card
updates through the Bot Connector, and the app package to upload to Teams (docs/teams.md).

Built from pieces of the Teams SDK for Python (microsoft-teams-apps 2.1): its activity models,
its Bot Framework token validator and its Bot Connector API client. Its `App` is not mounted,
because our server owns the HTTP app, the background work and the shutdown (docs/teams.md says
more). The SDK takes a second to import and loads `.env` into the environment, so it is
imported only once Teams is switched on, on a thread once the server starts."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import importlib
import importlib.metadata
import json
import logging
import random
import sys
import threading
import uuid
import warnings
import zipfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeVar

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from adapters import teams_icons
from adapters.chat_kit import BadJson, BodyTooLarge, clean_strings, parse_json_object, read_body
from adapters.chat_kit.locale import language_of_locale
from adapters.chat_kit.secrets import secret_value
from adapters.teams_cards import (
    CARD_CONTENT_TYPE,
    CardLabels,
    Submitted,
    TeamsMessage,
    answered_card,
    question_only,
    read_submit,
    render,
)
from adapters.teams_form_card import Asker, Invoke, TeamsForms, read_invoke
from bot.engine import Engine
from bot.logs import pseudonym
from bot.messages import ConversationKey, Incoming, TurnResult, is_decision_step
from bot.observe import NO_OBSERVER, Observer
from bot.ordering import OrderedTasks
from bot.settings import Settings
from rules.loader import RuleSetError, load_ruleset
from rules.models import Lang
from rules.ruleset import RuleSet

if TYPE_CHECKING:
    from microsoft_teams.api import ApiClient, ConversationUpdateActivity
    from microsoft_teams.api.activities.message import MessageActivity, MessageActivityInput
    from microsoft_teams.apps.auth.token_validator import TokenValidator
    from microsoft_teams.common import Client

    Activity: TypeAlias = MessageActivity | ConversationUpdateActivity

log = logging.getLogger("tripcheck.teams")
T = TypeVar("T")

MESSAGES_PATH = "/api/messages"
# Bot Framework's OpenID metadata; the signing keys are published next to it (…/keys).
BOT_FRAMEWORK_OPENID = "https://login.botframework.com/v1/.well-known/openidconfiguration"
LOGIN = "https://login.microsoftonline.com"
# The token authority of a multi-tenant bot; a single-tenant bot uses its tenant id instead.
MULTI_TENANT = "botframework.com"
MAX_BODY = 256 * 1024
# What of the SDK the channel uses: imported on a thread when the server starts.
SDK_MODULES = (
    "microsoft_teams.api",
    "microsoft_teams.common",
    "microsoft_teams.apps.auth.token_validator",
)
# Shutdown waits this long for activities already acknowledged to Teams.
STOP_SECONDS = 15.0
# Bot Connector calls: the timeout; the statuses Microsoft asks bots to retry (throttled,
# precondition failed, bad gateway, gateway timeout), how often a call is tried, the first
# backoff (doubled each time, jittered) and the longest wait, a Retry-After included.
SEND_TIMEOUT = 15.0
RETRIED_STATUSES = frozenset({429, 412, 502, 504})
ATTEMPTS = 4
FIRST_BACKOFF = 0.5
MAX_RETRY_WAIT = 10.0
# Conversations whose latest question card is remembered, so it loses its buttons when the
# next question is sent.
OPEN_QUESTIONS = 10_000
# API clients kept, one per serviceUrl (Teams uses a handful of regional ones).
KEPT_CLIENTS = 16


# --- receiving: who may post activities ---------------------------------------------------


class AuthUnavailable(Exception):
    """A token cannot be checked now (Bot Framework's signing keys cannot be fetched)."""


class ActivityAuth(Protocol):
    """Decides whether a request to /api/messages comes from Bot Framework."""

    async def verify(self, authorization: str, service_url: str | None) -> bool: ...


class AllowUnauthenticated:
    """Accepts every request: for local development and tests only."""

    async def verify(self, authorization: str, service_url: str | None) -> bool:
        return True


class BotFrameworkAuth:
    """Checks the Bot Framework token of an activity with the SDK's validator: RS256, signed by a
    key from Bot Framework's OpenID metadata, issued by Bot Framework, for this bot (audience),
    not expired, and for the activity's serviceUrl (so a token cannot send replies elsewhere)."""

    def __init__(self, client_id: str, openid_metadata_url: str = BOT_FRAMEWORK_OPENID) -> None:
        self._client_id = client_id
        self._openid_metadata_url = openid_metadata_url
        self._token_validator: TokenValidator | None = None
        # The validator logs every refused token at error level, which would page whoever
        # watches the errors for each stray request; verify() logs a warning instead.
        logging.getLogger("microsoft_teams.apps.auth.token_validator").setLevel(logging.CRITICAL)

    @property
    def _validator(self) -> TokenValidator:
        """Made at the first token, from the SDK the channel has imported by then."""
        if self._token_validator is None:
            _load_sdk()  # at once when loaded (the channel awaits that before any token)
            from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
            from microsoft_teams.apps.auth.token_validator import TokenValidator

            cloud = with_overrides(PUBLIC, openid_metadata_url=self._openid_metadata_url)
            self._token_validator = TokenValidator.for_service(self._client_id, cloud=cloud)
        return self._token_validator

    async def verify(self, authorization: str, service_url: str | None) -> bool:
        """True for a valid token; AuthUnavailable when the signing keys cannot be fetched."""
        import jwt

        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return False

        validator = self._validator

        def validate() -> None:
            asyncio.run(validator.validate_token(token, service_url))
            # The validator checks an expiry only when the token has one: a token that never
            # expires would be good forever once leaked.
            claims = jwt.decode(token, options={"verify_signature": False})
            if "exp" not in claims:
                raise jwt.MissingRequiredClaimError("exp")

        try:
            # The validator is async in name only: it fetches the signing keys with blocking
            # urllib (then caches them), which must not stall the server.
            await asyncio.to_thread(validate)
        except jwt.PyJWKClientConnectionError as error:
            log.warning("teams: Bot Framework's signing keys are unavailable: %s", error)
            raise AuthUnavailable(str(error)) from error
        except Exception as error:
            log.warning("teams: refused an activity: %s", error)
            return False
        return True


# --- sending: the Bot Connector -------------------------------------------------------------


class ConnectorAuthError(Exception):
    """No token for the Bot Connector (a wrong client id, secret or tenant)."""


class ConnectorTokens:
    """App-only tokens for the Bot Connector (OAuth client credentials) from MSAL, which caches
    a token and renews it before it expires. MSAL blocks on HTTP (authority discovery, the token
    request), so it runs in a worker thread. Satisfies the SDK's token provider protocol."""

    def __init__(self, client_id: str, client_secret: str, tenant_id: str | None) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._authority = f"{LOGIN}/{tenant_id or MULTI_TENANT}"
        self._lock = threading.Lock()
        self._msal: Any = None

    async def get_app_token(self, scope: str, tenant_id: str | None = None) -> str:
        """A token for `scope` (the SDK asks for Bot Framework's)."""
        return await asyncio.to_thread(self._acquire, scope)

    def _acquire(self, scope: str) -> str:
        import msal  # type: ignore[import-untyped]

        with self._lock:
            if self._msal is None:
                self._msal = msal.ConfidentialClientApplication(
                    self._client_id,
                    client_credential=self._client_secret,
                    authority=self._authority,
                    timeout=SEND_TIMEOUT,
                )
            result = self._msal.acquire_token_for_client(scopes=[scope])
        token = result.get("access_token")
        if not token:
            reason = result.get("error_description") or result.get("error") or "no token"
            raise ConnectorAuthError(str(reason))
        return str(token)


class TokenSource(Protocol):
    """Where the Bot Connector's bearer tokens come from (the SDK's token provider protocol)."""

    def get_app_token(self, scope: str, tenant_id: str | None) -> Awaitable[str]: ...


class Connector:
    """Sends and updates activities through the Bot Connector at an activity's serviceUrl, with
    the SDK's API client: with a token from `tokens`, or with none (unauthenticated mode).

    A call Microsoft asks to retry is tried again after a jittered exponential backoff (or the
    Retry-After it names); a failed call is logged and not raised: one lost message must not
    stop the rest of a turn."""

    def __init__(
        self,
        tokens: TokenSource | None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self._tokens = tokens
        self._observer = observer
        self._http: Client | None = None
        self._clients: OrderedDict[str, ApiClient] = OrderedDict()
        self._sleep = sleep
        self._jitter = jitter

    async def send(
        self, service_url: str, conversation_id: str, message: TeamsMessage
    ) -> str | None:
        """Posts a message to a conversation (a channel thread when the id has ;messageid=);
        the new activity's id, None when it was not sent."""
        conversations = self._client(service_url).conversations
        send = functools.partial(conversations.create_activity, conversation_id, _activity(message))
        sent = await self._call("send", send)
        return sent.id if sent is not None else None

    async def update(
        self, service_url: str, conversation_id: str, activity_id: str, message: TeamsMessage
    ) -> None:
        """Replaces a message we sent (a card once it is answered)."""
        conversations = self._client(service_url).conversations
        update = functools.partial(
            conversations.update_activity, conversation_id, activity_id, _activity(message)
        )
        await self._call("update", update)

    async def close(self) -> None:
        """Closes the HTTP connections."""
        if self._http is not None:
            await self._http.http.aclose()

    def _client(self, service_url: str) -> ApiClient:
        client = self._clients.get(service_url)
        if client is not None:
            self._clients.move_to_end(service_url)
            return client
        from microsoft_teams.api import ApiClient
        from microsoft_teams.common import Client, ClientOptions

        with _httpx_log_level_kept(), warnings.catch_warnings():
            # The API client still makes the SDK's deprecated bot client, which warns.
            warnings.simplefilter("ignore", DeprecationWarning)
            if self._http is None:
                self._http = Client(ClientOptions(timeout=SEND_TIMEOUT))
            client = ApiClient(service_url, self._http, token_provider=self._tokens)
        self._clients[service_url] = client
        while len(self._clients) > KEPT_CLIENTS:
            self._clients.popitem(last=False)
        return client

    async def _call(self, what: str, call: Callable[[], Awaitable[T]]) -> T | None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await call()
            except httpx.HTTPStatusError as error:
                status = error.response.status_code
                if status == 429:
                    self._observer.platform_rate_limited("teams")
                if status in RETRIED_STATUSES and attempt < ATTEMPTS:
                    wait = self._backoff(attempt, error.response)
                    log.warning(
                        "teams connector asks to retry",
                        extra={"call": what, "status": status, "wait": wait},
                    )
                    await self._sleep(wait)
                    continue
                log.warning("teams %s refused: HTTP %s", what, status)
            except Exception as error:
                log.warning("teams %s failed: %s: %s", what, type(error).__name__, error)
            self._observer.platform_error("teams")
            return None
        return None

    def _backoff(self, attempt: int, response: httpx.Response) -> float:
        """The Retry-After the connector named, else 0.5, 1, 2 ... seconds, each between half
        and all of it (jitter, so throttled bots do not all come back at once)."""
        named = _retry_after(response)
        if named is not None:
            return named
        full = FIRST_BACKOFF * 2.0 ** (attempt - 1)
        return min(full * (0.5 + self._jitter() / 2), MAX_RETRY_WAIT)


def _activity(message: TeamsMessage) -> MessageActivityInput:
    from microsoft_teams.api.activities.message import MessageActivityInput
    from microsoft_teams.api.models.attachment import Attachment

    if message.card is not None:
        card = Attachment(content_type=CARD_CONTENT_TYPE, content=message.card)
        return MessageActivityInput().add_attachments(card)
    return MessageActivityInput(text=message.text or "", text_format="xml")


def _retry_after(response: httpx.Response) -> float | None:
    """The seconds a Retry-After header asks for (at most MAX_RETRY_WAIT); None without one."""
    header = response.headers.get("retry-after")
    try:
        seconds = float(header) if header is not None else None
    except ValueError:
        seconds = None
    if seconds is None or seconds != seconds:  # absent, an HTTP date, or NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_WAIT)


@contextlib.contextmanager
def _httpx_log_level_kept() -> Iterator[None]:
    # Every SDK HTTP client resets the "httpx" logger's level when it is made; the server keeps
    # that logger quiet, because request URLs hold tokens (Telegram) and conversation ids.
    httpx_log = logging.getLogger("httpx")
    level = httpx_log.level
    try:
        yield
    finally:
        httpx_log.setLevel(level)


# --- the channel ----------------------------------------------------------------------------


class TeamsChannel:
    """Teams activities in, engine turns, Adaptive Cards and messages out.

    The request is answered at once (Bot Framework resends to a slow bot); the activity is
    handled in the background, after the earlier activities of the same user in the same
    conversation, so quick answers keep their order. A card's buttons answer only the question
    it asks: a click on an old card changes nothing and leaves the question without buttons,
    and a question card loses its buttons when the next question is sent."""

    name = "teams"

    def __init__(
        self,
        engine: Engine,
        connector: Connector,
        auth: ActivityAuth,
        *,
        tenant_id: str | None = None,
        unauthenticated: bool = False,
    ) -> None:
        self.engine = engine
        self.connector = connector
        self.auth = auth
        self._tenant_id = tenant_id.strip().lower() if tenant_id and tenant_id.strip() else None
        self._unauthenticated = unauthenticated
        self._work: OrderedTasks[tuple[str, str]] = OrderedTasks()
        self._open: OrderedDict[ConversationKey, Posted] = OrderedDict()
        # Cards already answered or stripped (activity ids): a stale click leaves them as they are.
        self._closed: OrderedDict[str, None] = OrderedDict()
        self.forms = TeamsForms(engine, send=connector.send, update=connector.update)
        self._sdk: asyncio.Future[None] | None = None

    @property
    def routes(self) -> Sequence[BaseRoute]:
        return [Route(MESSAGES_PATH, self.receive, methods=["POST"])]

    async def start(self) -> None:
        self._sdk_loading()
        if self._unauthenticated:
            log.warning(
                "TEAMS_ALLOW_UNAUTHENTICATED is on: %s accepts activities WITHOUT a Bot Framework"
                " token and replies to any serviceUrl they name. For local development and tests"
                " only, never in production.",
                MESSAGES_PATH,
                extra={"channel": self.name},
            )

    def _sdk_loading(self) -> asyncio.Future[None]:
        """The SDK takes a second to import: on a thread, begun at start-up, so the server is
        ready without it and no request waits for all of it."""
        if self._sdk is None:
            self._sdk = asyncio.ensure_future(asyncio.to_thread(_load_sdk))
            self._sdk.add_done_callback(_log_sdk_failure)
        return self._sdk

    async def warmed(self) -> None:
        """Returns once the SDK is imported (raises if it cannot be)."""
        await asyncio.shield(self._sdk_loading())

    async def stop(self) -> None:
        """Waits for the activities still being handled, then closes the connections."""
        await self.settled(STOP_SECONDS)
        await self.connector.close()

    async def settled(self, timeout: float) -> None:
        """Waits (at most `timeout` seconds) until the activities received so far are handled."""
        await self._work.wait(timeout)

    # --- receiving ----------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        """POST /api/messages: checks the token, answers at once, handles the activity after.
        Sent in the second after start-up, it waits for the SDK (the token check uses it)."""
        try:
            await self.warmed()
        except Exception:  # logged once, when the import failed
            return JSONResponse({"error": "the Teams channel cannot start"}, status_code=503)
        body = await _body(request)
        if body is None:
            return JSONResponse({"error": "the activity is too large"}, status_code=413)
        data = _json_object(body)
        service_url = data.get("serviceUrl") if data is not None else None
        authorization = request.headers.get("authorization", "")
        try:
            allowed = await self.auth.verify(
                authorization, service_url if isinstance(service_url, str) else None
            )
        except AuthUnavailable:
            # Bot Framework tries again later; a valid activity must not be lost.
            return JSONResponse({"error": "the token cannot be checked now"}, status_code=503)
        if not allowed:
            return JSONResponse(
                {"error": "a valid Bot Framework token is required"}, status_code=401
            )
        if data is None:
            return JSONResponse({"error": "the body must be a JSON activity"}, status_code=400)
        invoke = read_invoke(data)
        if invoke is not None:
            # Teams waits for the card in the response: answered now, not in the background.
            return await self._on_form_invoke(invoke)
        activity = parse_activity(data)
        if activity is not None and self._from_our_tenant(activity):
            self.submit(activity)
        return Response(status_code=200)

    def _from_our_tenant(self, activity: Activity) -> bool:
        tenant = activity_tenant(activity)
        if self._tenant_id is None or tenant is None or tenant.lower() == self._tenant_id:
            return True
        log.warning("teams: ignored an activity from another tenant", extra={"tenant": tenant})
        return False

    def submit(self, activity: Activity) -> None:
        """Handles an activity in the background, after the earlier ones of its user there."""
        order = (base_conversation_id(activity.conversation.id), user_id(activity))
        self._work.submit(order, functools.partial(self.handle_activity, activity))

    async def handle_activity(self, activity: Activity) -> None:
        """One activity, once: a message or card click, or the bot being added to a chat."""
        try:
            if not await self._first_delivery(activity):
                return
            if activity.type == "message":
                await self._on_message(activity)
            else:
                await self._on_conversation_update(activity)
        except Exception:
            log.exception("teams activity failed", extra={"user": pseudonym(user_id(activity))})

    async def _first_delivery(self, activity: Activity) -> bool:
        # Activity ids are unique within a conversation only (channel posts are numbered by
        # the millisecond), so the conversation is part of the delivery id.
        delivery = f"{base_conversation_id(activity.conversation.id)}|{activity.id}"
        return await self.engine.claim_delivery("teams", delivery)

    # --- turns --------------------------------------------------------------------------

    async def _on_message(self, activity: MessageActivity) -> None:
        key = conversation_key(activity)
        lang = language_of_locale(activity.locale)
        submitted = read_submit(activity.value)
        if submitted is not None:
            await self._on_click(activity, key, lang, submitted)
            return
        text = typed_text(activity)
        if not text:
            # A click on some other card, a file or an image: nothing the engine can answer.
            return
        if self.forms.asks_for_form(text):
            sender = activity.from_
            said_in = lang or await self.engine.conversation_lang(key)
            asker = Asker(key.user, sender.id, sender.name or "", said_in)
            target = reply_conversation_id(activity)
            await self.forms.send(_service_url(activity), target, asker)
            return
        result = await self.engine.handle(key, Incoming(text=text, lang=lang))
        await self._send(activity, key, result)

    async def _on_click(
        self, activity: MessageActivity, key: ConversationKey, lang: Lang | None, click: Submitted
    ) -> None:
        if click.user is not None and click.user != key.user:
            # In a channel everyone sees the card; only the person it asks may answer it.
            return
        # A card from before cards named their step answers nothing: "" is no open step.
        incoming = Incoming(choice=click.choice, step=click.step or "", lang=lang)
        result = await self.engine.handle(key, incoming)
        card_id = activity.reply_to_id
        # Only a taken click marks its card answered; any other leaves the question bare,
        # unless the card has been answered or stripped already (it shows that still).
        card = None
        # Details and Share leave the decision card as it is, its buttons still there.
        if is_decision_step(click.step):
            card_id = None
        if card_id and result.taken:
            said = self.engine.text("teams.answered", result.lang, answer=click.answer)
            card = answered_card(click, said)
        elif card_id and card_id not in self._closed:
            card = question_only(click.question)
        if card_id and card is not None:
            await self.connector.update(
                _service_url(activity), activity.conversation.id, card_id, TeamsMessage(card=card)
            )
            self._close(card_id)
        await self._send(activity, key, result, answered=card_id)

    async def _on_form_invoke(self, invoke: Invoke) -> Response:
        """An Action.Execute on a form card, answered with the card as it now is."""
        tenant = invoke.tenant
        if self._tenant_id is not None and tenant is not None and tenant.lower() != self._tenant_id:
            log.warning("teams: ignored an invoke from another tenant", extra={"tenant": tenant})
            return Response(status_code=200)
        key = ConversationKey("teams", base_conversation_id(invoke.conversation_id), invoke.person)
        return JSONResponse(await self.forms.answer(invoke, key))

    async def _on_conversation_update(self, activity: ConversationUpdateActivity) -> None:
        """A welcome and the first question when someone adds the bot as a personal app."""
        added = activity.members_added or []
        if activity.conversation.conversation_type != "personal" or not any(
            member.id == activity.recipient.id for member in added
        ):
            return
        key = conversation_key(activity)
        result = await self.engine.open(key, lang=language_of_locale(activity.locale))
        await self._send(activity, key, result)

    async def _send(
        self,
        activity: Activity,
        key: ConversationKey,
        result: TurnResult,
        answered: str | None = None,
    ) -> None:
        """The replies in order, into the activity's conversation (in a channel, its thread);
        the question card sent before loses its buttons (unless it is the one just `answered`)."""
        if not result.replies:
            return
        service_url = _service_url(activity)
        previous = self._open.pop(key, None)
        if previous is not None and previous.activity_id != answered:
            plain = TeamsMessage(card=question_only(previous.question))
            await self.connector.update(
                previous.service_url, previous.conversation_id, previous.activity_id, plain
            )
            self._close(previous.activity_id)
        labels = card_labels(self.engine, result.lang)
        target = reply_conversation_id(activity)
        for reply in result.replies:
            message = render(reply, labels, key.user)
            sent = await self.connector.send(service_url, target, message)
            if sent is not None and reply.type == "question" and message.card is not None:
                self._remember(key, Posted(service_url, target, sent, reply.text))
            decision_id = (reply.decision or {}).get("id")
            if sent is not None and isinstance(decision_id, int):
                # Where to write to the person later, when the follow-up is due.
                reference = followup_reference(activity, service_url, target)
                await self.engine.followup_reference(key, decision_id, reference)

    def _remember(self, key: ConversationKey, question: Posted) -> None:
        self._open[key] = question
        self._open.move_to_end(key)
        while len(self._open) > OPEN_QUESTIONS:
            self._open.popitem(last=False)

    def _close(self, activity_id: str) -> None:
        self._closed[activity_id] = None
        self._closed.move_to_end(activity_id)
        while len(self._closed) > OPEN_QUESTIONS:
            self._closed.popitem(last=False)


@dataclass(frozen=True)
class Posted:
    """A question card the bot sent: where, its activity id, and the question's text."""

    service_url: str
    conversation_id: str
    activity_id: str
    question: str


def _log_sdk_failure(loading: asyncio.Future[None]) -> None:
    if not loading.cancelled() and loading.exception() is not None:
        log.critical("the Teams SDK cannot be imported", exc_info=loading.exception())


def _load_sdk() -> None:
    with warnings.catch_warnings():
        # The SDK warns at import about preview features we do not use.
        warnings.simplefilter("ignore")
        for module in SDK_MODULES:
            importlib.import_module(module)


def parse_activity(data: dict[str, Any]) -> Activity | None:
    """The activity in a request body, if it is one the bot handles (a message or a
    conversation update, with a serviceUrl to answer at); None for anything else."""
    if data.get("type") not in ("message", "conversationUpdate"):
        return None
    from microsoft_teams.api import ActivityTypeAdapter, ConversationUpdateActivity
    from microsoft_teams.api.activities.message import MessageActivity

    try:
        activity = ActivityTypeAdapter.validate_python(data)
    except (ValueError, RecursionError) as error:
        log.warning("teams: the body is not a valid activity: %s", error.__class__.__name__)
        return None
    if isinstance(activity, MessageActivity | ConversationUpdateActivity) and activity.service_url:
        return activity
    return None


def conversation_key(activity: Activity) -> ConversationKey:
    """The engine's key: the conversation without its thread, and the user's Entra object id."""
    return ConversationKey(
        "teams", base_conversation_id(activity.conversation.id), user_id(activity)
    )


def base_conversation_id(conversation_id: str) -> str:
    """A channel's conversation id without the thread ("19:x@thread.tacv2;messageid=1" →
    "19:x@thread.tacv2")."""
    return conversation_id.split(";", 1)[0]


def user_id(activity: Activity) -> str:
    """The user's Entra (AAD) object id, the same in every chat; their Teams id if none."""
    sender = activity.from_
    return sender.aad_object_id or sender.id


def reply_conversation_id(activity: Activity) -> str:
    """Where replies go: the activity's conversation, which in a channel is the thread
    ("…;messageid=<root>"); a new channel post without one starts its own thread."""
    conversation = activity.conversation
    root = activity.id or ""
    new_post = conversation.conversation_type == "channel" and ";messageid=" not in conversation.id
    if new_post and root.isdigit() and root != "0":
        return f"{conversation.id};messageid={root}"
    return conversation.id


def followup_reference(activity: Activity, service_url: str, target: str) -> dict[str, str]:
    """What a proactive message to this conversation needs (adapters/teams_proactive.py)."""
    reference = {"service_url": service_url, "conversation_id": target}
    tenant = activity_tenant(activity)
    if tenant:
        reference["tenant_id"] = tenant
    return reference


def activity_tenant(activity: Activity) -> str | None:
    """The Microsoft 365 tenant an activity comes from, when it says."""
    if activity.conversation.tenant_id:
        return activity.conversation.tenant_id
    channel_data = activity.channel_data
    tenant = channel_data.tenant if channel_data is not None else None
    return tenant.id if tenant is not None else None


def typed_text(activity: MessageActivity) -> str:
    """What the user typed: the bot's @mention removed (other people's mentions keep their
    names), HTML entities decoded, spaces tidied."""
    from microsoft_teams.api.activities.utils import StripMentionsTextOptions, strip_mentions_text

    only_the_bot = StripMentionsTextOptions(account_id=activity.recipient.id)
    text = strip_mentions_text(activity, only_the_bot) or ""
    text = text.replace("<at>", "").replace("</at>", "")
    return " ".join(html.unescape(text).split())


def card_labels(engine: Engine, lang: Lang) -> CardLabels:
    """The texts of a question card's own controls, in `lang`."""
    return CardLabels(
        done=engine.text("teams.done", lang),
        choose=engine.text("teams.choose", lang),
        placeholder=engine.text("teams.choose.placeholder", lang),
    )


def _service_url(activity: Activity) -> str:
    # parse_activity lets no activity without a serviceUrl through.
    return activity.service_url or ""


async def _body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY (not read any further)."""
    try:
        return await read_body(request, MAX_BODY)
    except BodyTooLarge:
        return None


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The activity as JSON, cleaned once of what no database or log can hold; None when it
    is not a JSON object (not UTF-8, nested too deep, a 5000-digit number, ...)."""
    try:
        data: dict[str, Any] = clean_strings(parse_json_object(body))
    except BadJson:
        return None
    return data


def channel(settings: Settings, engine: Engine) -> TeamsChannel | None:
    """The Teams channel: on when TEAMS_CLIENT_ID and TEAMS_CLIENT_SECRET are set, or when
    TEAMS_ALLOW_UNAUTHENTICATED is (local development and tests)."""
    client_id = secret_value(settings.teams_client_id)
    tenant_id = secret_value(settings.teams_tenant_id)
    if settings.teams_allow_unauthenticated:
        return TeamsChannel(
            engine,
            Connector(None, observer=engine.observer),
            AllowUnauthenticated(),
            tenant_id=tenant_id,
            unauthenticated=True,
        )
    if client_id is None:
        log.info("channel off: set TEAMS_CLIENT_ID to enable it", extra={"channel": "teams"})
        return None
    secret = secret_value(settings.teams_client_secret)
    if secret is None:
        log.warning(
            "channel off: set TEAMS_CLIENT_SECRET too; without it the bot cannot answer",
            extra={"channel": "teams"},
        )
        return None
    tokens = ConnectorTokens(client_id, secret, tenant_id)
    connector = Connector(tokens, observer=engine.observer)
    return TeamsChannel(engine, connector, BotFrameworkAuth(client_id), tenant_id=tenant_id)


# --- `tripcheck teams-package` --------------------------------------------------------------

MANIFEST_VERSION = "1.17"
MANIFEST_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
    "/MicrosoftTeams.schema.json"
)
LOCALIZATION_SCHEMA = (
    f"https://developer.microsoft.com/json-schemas/teams/v{MANIFEST_VERSION}"
    "/MicrosoftTeams.Localization.schema.json"
)
APP_NAME = "Tripcheck"
DEVELOPER = {
    "name": "Luleå kommun",
    "websiteUrl": "https://www.lulea.se",
    "privacyUrl": "https://www.lulea.se",
    "termsOfUseUrl": "https://www.lulea.se",
}
ACCENT_COLOR = "#00529B"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
# The manifest is in English (Teams' default); Swedish clients read the translation.
DEFAULT_LANGUAGE: Lang = "en"
TRANSLATIONS: tuple[Lang, ...] = ("sv",)


def manifest(client_id: str, rules: RuleSet, version: str) -> dict[str, Any]:
    """The app manifest: the bot (personal chats and team channels) and the app's texts."""
    texts = app_texts(rules, DEFAULT_LANGUAGE)
    return {
        "$schema": MANIFEST_SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        # Teams asks a bot's app to use the bot's app id as its own.
        "id": client_id,
        "developer": DEVELOPER,
        "name": {"short": texts["name.short"], "full": texts["name.full"]},
        "description": {"short": texts["description.short"], "full": texts["description.full"]},
        "icons": {"outline": OUTLINE_ICON, "color": COLOR_ICON},
        "accentColor": ACCENT_COLOR,
        "bots": [
            {
                "botId": client_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
            }
        ],
        # The bot opens no web pages, so no domain is needed.
        "validDomains": [],
        "localizationInfo": {
            "defaultLanguageTag": DEFAULT_LANGUAGE,
            "additionalLanguages": [
                {"languageTag": lang, "file": f"{lang}.json"} for lang in TRANSLATIONS
            ],
        },
    }


def app_texts(rules: RuleSet, lang: Lang) -> dict[str, str]:
    """The app's name and descriptions in `lang`, keyed as in a localization file."""
    return {
        "name.short": APP_NAME,
        "name.full": rules.text("teams.app.name", lang),
        "description.short": rules.text("teams.app.short", lang),
        "description.full": rules.text("teams.app.full", lang),
    }


def package_files(client_id: str, rules: RuleSet, version: str) -> dict[str, bytes]:
    """Every file of the app package by name: manifest, translations, icons."""

    def dumped(data: dict[str, Any]) -> bytes:
        return json.dumps(data, ensure_ascii=False, indent=2).encode()

    files = {"manifest.json": dumped(manifest(client_id, rules, version))}
    for lang in TRANSLATIONS:
        files[f"{lang}.json"] = dumped({"$schema": LOCALIZATION_SCHEMA, **app_texts(rules, lang)})
    files[COLOR_ICON] = teams_icons.color_icon(ACCENT_COLOR)
    files[OUTLINE_ICON] = teams_icons.outline_icon()
    return files


def write_package(output: Path, settings: Settings) -> int:
    """`tripcheck teams-package`: writes the app package (a zip to upload to Teams) to
    `output` and says where; the exit status (2 without a valid TEAMS_CLIENT_ID)."""
    client_id = secret_value(settings.teams_client_id)
    if client_id is None:
        print(
            "tripcheck: set TEAMS_CLIENT_ID (the Azure bot's Microsoft App ID) first:"
            " the package names the bot by it",
            file=sys.stderr,
        )
        return 2
    try:
        uuid.UUID(client_id)
    except ValueError:
        print(
            f"tripcheck: TEAMS_CLIENT_ID must be the bot's Microsoft App ID, a GUID such as"
            f" 00000000-0000-0000-0000-000000000000; it is {client_id!r}",
            file=sys.stderr,
        )
        return 2
    try:
        rules = load_ruleset(settings.rules_dir)
    except RuleSetError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    files = package_files(client_id, rules, _app_version())
    try:
        with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
            for name, content in files.items():
                package.writestr(name, content)
    except OSError as error:
        print(f"tripcheck: cannot write {output}: {error.strerror or error}", file=sys.stderr)
        return 1
    print(
        f"wrote the Teams app package to {output} (bot {client_id}); upload it in the Teams"
        " admin center (Teams apps → Manage apps → Upload new app) or in Teams (Apps → Manage"
        " your apps → Upload an app)"
    )
    return 0


def _app_version() -> str:
    # Teams takes an updated package only with a higher version: Tripcheck's own.
    try:
        return importlib.metadata.version("tripcheck")
    except importlib.metadata.PackageNotFoundError:
        return "1.0.0"
