"""The Slack channel, through slack-bolt's AsyncApp: a check in a DM, in a thread under an
@mention, or from /tripcheck; closed questions as buttons, goals as checkboxes; the App Home.

Events, slash commands and interactivity all arrive at POST /slack/events, or over Socket Mode
when SLACK_APP_TOKEN is set. Over HTTP the body is read with a size cap and its signature and
timestamp are checked before bolt parses anything. Every request is acknowledged at once and
handled after, so Slack never waits on storage or the engine."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import (
    to_async_bolt_request,
    to_starlette_response,
)
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.chat_kit import BodyTooLarge, clean_strings, read_body
from adapters.chat_kit.choices import NONE_VALUE
from adapters.chat_kit.locale import language_of_locale
from adapters.chat_kit.secrets import secret_value
from adapters.slack_blocks import (
    ANSWER_ACTION_PATTERN,
    DONE_ACTION,
    GOALS_ACTION_PATTERN,
    QuestionTag,
    SlackMessage,
    answered,
    button_label,
    home_view,
    plain_text,
    render,
    ticked,
    without_buttons,
)
from adapters.slack_modal import SlackForms, with_form_button, with_form_offer
from bot.engine import Engine
from bot.forms import FormResult
from bot.logs import pseudonym
from bot.messages import ConversationKey, Incoming, TurnResult
from bot.observe import Observer
from bot.ordering import KeyedLocks
from bot.settings import Settings
from rules.fields import FIELDS
from rules.models import Lang

log = logging.getLogger("tripcheck.slack")
R = TypeVar("R")

SLACK_API = "https://slack.com/api/"
EVENTS_PATH = "/slack/events"
SLASH_COMMAND = "/tripcheck"
# What manifest.yml asks Slack for; tests/test_slack.py keeps the two in step.
BOT_SCOPES = frozenset(
    {
        "app_mentions:read",  # app_mention
        "channels:history",  # thread replies in public channels (message.channels)
        "groups:history",  # thread replies in private channels (message.groups)
        "chat:write",  # chat.postMessage, chat.update
        "commands",  # /tripcheck
        "im:history",  # DMs (message.im)
        "im:write",  # conversations.open for /tripcheck
        "users:read",  # users.info with the user's locale
    }
)
BOT_EVENTS = frozenset(
    {"app_home_opened", "app_mention", "message.channels", "message.groups", "message.im"}
)
MAX_BODY = 1024 * 1024
# Slack signs each request over "v0:{timestamp}:{body}"; older than this is a replay.
SIGNATURE_WINDOW_SECONDS = 5 * 60
# A Unix time in seconds has ten digits; anything much longer is not a timestamp.
MAX_TIMESTAMP_DIGITS = 12
# Shutdown waits this long for requests already acknowledged to Slack.
STOP_SECONDS = 15.0
RECENT_DECISIONS = 10
# Message subtypes a person typed; every other one (bot_message, message_changed,
# channel_join, ...) is not an answer.
TYPED_SUBTYPES = frozenset({"thread_broadcast"})
# Questions whose buttons are removed when the next turn of their conversation comes.
OPEN_QUESTIONS = 10_000


@dataclass(frozen=True)
class Place:
    """Where a conversation's replies go: a channel, and the thread in it (None in a DM)."""

    channel: str
    thread_ts: str | None = None


@dataclass(frozen=True)
class Posted:
    """A message the bot has posted, as it was posted."""

    channel: str
    ts: str
    message: SlackMessage


class SlackChannel:
    """Slack requests in, engine turns, Block Kit messages out.

    Turns of one conversation run one after the other, replies included, so quick answers
    keep their order. A question's buttons answer only the step it asked: a press on an old
    question changes nothing and loses its buttons."""

    name = "slack"

    def __init__(
        self,
        engine: Engine,
        bot_token: str,
        signing_secret: str,
        *,
        api_url: str | None = None,
        app_token: str | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.engine = engine
        self._signing_secret = signing_secret.encode()
        self._max_body = max_body
        # process_before_response=False: bolt answers Slack once ack() is called and runs
        # the rest of a listener after; the engine's work always comes after ack().
        self.app = AsyncApp(
            token=bot_token,
            signing_secret=signing_secret,
            name="tripcheck",
            process_before_response=False,
        )
        # bolt's own client, pointed at api_url (bolt copies it for every request); rather
        # than client=..., which makes bolt warn whenever SLACK_BOT_TOKEN is in the environment.
        self.client: AsyncWebClient = self.app.client
        self.client.base_url = api_base_url(api_url)
        self.client.retry_handlers.append(CountedRateLimits(engine.observer, max_retry_count=2))
        self._app_token = app_token
        self._socket: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        # Each user's language from their Slack locale; None: they have none set.
        self._langs: dict[str, Lang | None] = {}
        self._dms: dict[str, str] = {}
        self._lock: KeyedLocks[ConversationKey] = KeyedLocks()
        self._open: OrderedDict[ConversationKey, Posted] = OrderedDict()
        self._running: set[asyncio.Task[Any]] = set()
        self.forms = SlackForms(
            engine,
            self.client,
            lang_of=self._form_lang,
            dm_of=self._dm_channel,
            call=self._call,
            post=self._post_form,
            work=self._work,
        )
        self._listen()

    def _listen(self) -> None:
        self.app.event("message")(self._on_message)
        self.app.event("app_mention")(self._on_mention)
        self.app.event("app_home_opened")(self._on_home_opened)
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.action(ANSWER_ACTION_PATTERN)(self._on_answer)
        self.app.action(DONE_ACTION)(self._on_done)
        self.app.action(GOALS_ACTION_PATTERN)(self._on_tick)
        self.forms.register(self.app)

    @property
    def routes(self) -> Sequence[BaseRoute]:
        if self._app_token is not None:
            return []  # Socket Mode: Slack sends nothing over HTTP
        return [Route(EVENTS_PATH, self.receive, methods=["POST"])]

    async def start(self) -> None:
        """Opens the Web API connection pool; in Socket Mode, starts connecting to Slack."""
        # One session for every call (bolt's per-request clients take it from app.client),
        # instead of a new connection per call.
        self.client.session = aiohttp.ClientSession()
        if self._app_token is None:
            return
        self._socket = AsyncSocketModeHandler(self.app, self._app_token)
        # slack_sdk retries a failed connection every 10 s until it is closed: in the
        # background, so that the server (and every other channel) starts meanwhile.
        connecting = self._socket.connect_async()  # type: ignore[no-untyped-call]
        self._connecting = asyncio.create_task(connecting)

    async def stop(self) -> None:
        """Closes Socket Mode, waits for the requests already acknowledged, then closes the
        connection pool."""
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
            self._connecting = None
        try:
            await asyncio.wait_for(self.settled(), STOP_SECONDS)
        except TimeoutError:
            log.warning("slack: requests still being handled after %s s", STOP_SECONDS)
        if self.client.session is not None:
            await self.client.session.close()
            self.client.session = None

    async def settled(self) -> None:
        """Waits until every request acknowledged so far has been handled."""
        while self._running:
            await asyncio.wait(set(self._running))

    async def receive(self, request: Request) -> Response:
        """POST /slack/events: the body read with a cap (413), its signature and timestamp
        checked (401 if forged, stale or malformed), then parsed (400 if it cannot be), and
        only then handed to bolt, which acknowledges it. Never a 500 for what a client sent."""
        try:
            body = await read_body(request, self._max_body)
        except BodyTooLarge:
            return Response(status_code=413)
        if not self._signed(request.headers, body):
            log.info("slack: refused a request with a bad signature or timestamp")
            return Response(status_code=401)
        try:
            bolt_request = to_async_bolt_request(request, body)
            # Cleaned once here: a lone surrogate in an id or a text reaches no database.
            bolt_request.body = clean_strings(bolt_request.body)
        except (ValueError, RecursionError, TypeError, AttributeError) as error:
            # Signed, but not UTF-8, not JSON or a form, nested too deep, a 5000-digit number.
            log.info("slack: refused a request that cannot be read: %s", type(error).__name__)
            return Response(status_code=400)
        return to_starlette_response(await self.app.async_dispatch(bolt_request))

    def _signed(self, headers: Headers, body: bytes) -> bool:
        """Whether Slack signed this body within the last five minutes (as bolt would check,
        but without raising on a timestamp that is not a number)."""
        stamp = headers.get("x-slack-request-timestamp")
        if stamp is None or not stamp.isascii() or not stamp.isdigit():
            return False
        if len(stamp) > MAX_TIMESTAMP_DIGITS:
            return False
        if abs(time.time() - int(stamp)) > SIGNATURE_WINDOW_SECONDS:
            return False
        signature = headers.get("x-slack-signature", "")
        signed = b"v0:" + stamp.encode() + b":" + body
        digest = hmac.new(self._signing_secret, signed, hashlib.sha256)
        # As bytes: compare_digest refuses str with non-ASCII characters (Starlette gives
        # headers decoded as Latin-1, so this encodes back to what was sent).
        expected = f"v0={digest.hexdigest()}".encode()
        return hmac.compare_digest(expected, signature.encode("latin-1"))

    @contextlib.contextmanager
    def _work(self, kind: str) -> Iterator[None]:
        """Tracks a listener's work for settled(), and logs (never raises) what goes wrong."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            yield
        except Exception:
            log.exception("slack %s failed", kind)
        finally:
            if task is not None:
                self._running.discard(task)

    # --- listeners (bolt acknowledges events itself, before they run) -------------------

    async def _on_message(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """A DM, or a reply in a thread where the user's check is going on."""
        with self._work("message"):
            user = _person(event)
            channel_id = str(event.get("channel") or "")
            if user is None or not channel_id:
                return
            text = plain_text(str(event.get("text") or ""))
            if event.get("channel_type") == "im":
                key = ConversationKey("slack", channel_id, user)
                place = Place(channel_id)
            else:
                thread_ts = event.get("thread_ts")
                # A message that mentions the bot comes as app_mention too and is handled there.
                if thread_ts is None or _mentions(event.get("text"), context.bot_user_id):
                    return
                key = ConversationKey("slack", f"{channel_id}:{thread_ts}", user)
                place = Place(channel_id, str(thread_ts))
                if not await self._continues(key, text):
                    return
            if not await self._first_delivery(body):
                return
            await self._turn(key, place, Incoming(text=text, lang=await self._lang(user)))

    async def _on_mention(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """An @mention in a channel: the check goes on in a thread under it."""
        with self._work("app_mention"):
            user = _person(event)
            channel_id = str(event.get("channel") or "")
            # A DM is handled as message.im, never twice.
            if user is None or not channel_id or channel_id.startswith("D"):
                return
            root = str(event.get("thread_ts") or event.get("ts"))
            if not await self._first_delivery(body):
                return
            key = ConversationKey("slack", f"{channel_id}:{root}", user)
            text = plain_text(_without_mention(str(event.get("text") or ""), context.bot_user_id))
            incoming = Incoming(text=text.strip(), lang=await self._lang(user))
            await self._turn(key, Place(channel_id, root), incoming, opening=not incoming.text)

    async def _on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        request: AsyncBoltRequest,
    ) -> None:
        """/tripcheck [help|status|cancel|...]: the check goes on in the user's DM."""
        with self._work("command"):
            await ack()
            user = str(command.get("user_id") or "")
            if not user or not await self._first_request(request, "slack-command"):
                return
            if self.forms.asks_for_form(plain_text(str(command.get("text") or "")).strip()):
                await self.forms.open(user, str(command.get("trigger_id") or ""), {})
                return
            dm = await self._dm_channel(user)
            if dm is None:
                return
            key = ConversationKey("slack", dm, user)
            lang = await self._lang(user)
            if command.get("channel_id") != dm and command.get("response_url"):
                # Said where the command was typed, so the user knows where to look.
                said_in = lang or await self.engine.conversation_lang(key)
                opened = self.engine.text("slack.command.opened", said_in)
                await self._call("response_url", respond(text=opened, response_type="ephemeral"))
            text = plain_text(str(command.get("text") or "")).strip()
            await self._turn(key, Place(dm), Incoming(text=text, lang=lang), opening=not text)

    async def _on_answer(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        request: AsyncBoltRequest,
    ) -> None:
        """A button: its value is the answer."""
        with self._work("button"):
            await ack()
            if not await self._first_request(request, "slack-action"):
                return
            label = str((action.get("text") or {}).get("text") or "")
            await self._pressed(body, action, str(action.get("value") or ""), label)

    async def _on_done(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        request: AsyncBoltRequest,
    ) -> None:
        """Done under the goals' checkboxes: the ticked values ("5,8"), or "none"."""
        with self._work("done"):
            await ack()
            if not await self._first_request(request, "slack-action"):
                return
            goals = ticked(body)
            blocks = (body.get("message") or {}).get("blocks") or []
            label = ", ".join(goals.labels) or button_label(blocks, NONE_VALUE) or NONE_VALUE
            await self._pressed(body, action, goals.choice, label)

    async def _on_tick(self, ack: AsyncAck) -> None:
        """A checkbox ticked or unticked: Slack keeps the state until Done."""
        await ack()

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        """The App Home tab: the user's latest decisions."""
        with self._work("app_home_opened"):
            user = str(event.get("user") or "")
            if event.get("tab") != "home" or not user:
                return
            dm = str(event.get("channel") or "")
            lang = await self._lang(user)
            if lang is None:
                lang = await self.engine.conversation_lang(ConversationKey("slack", dm, user))
            decisions = await self.engine.recent_decisions("slack", user, RECENT_DECISIONS)
            view = home_view(decisions, self.engine.text, lang)
            view = with_form_button(view, self.engine.text("forms.open", lang))
            await self._call("views.publish", self.client.views_publish(user_id=user, view=view))

    # --- turns --------------------------------------------------------------------------

    async def _turn(
        self, key: ConversationKey, place: Place, incoming: Incoming, opening: bool = False
    ) -> None:
        """One engine turn and its replies; `opening` asks the open question or starts a check."""
        async with self._lock(key):
            if opening:
                result = await self.engine.open(key, lang=incoming.lang)
            else:
                result = await self.engine.handle(key, incoming)
            await self._deliver(key, place, result)

    async def _pressed(
        self, body: dict[str, Any], action: dict[str, Any], choice: str, label: str
    ) -> None:
        """A press on a question, with the step its buttons were tagged with: the engine takes
        it only for the open question. Taken, the question shows the answer; not taken (an
        old question, a pause to ask about), it loses its buttons; failed, it keeps them, so
        the user can press again."""
        tag = QuestionTag.parse(str(action.get("block_id") or ""))
        user = (body.get("user") or {}).get("id")
        message = body.get("message") or {}
        channel_id = (body.get("container") or {}).get("channel_id") or (
            body.get("channel") or {}
        ).get("id")
        # Someone else's question (in a channel thread) is not theirs to answer.
        if tag is None or user != tag.user or not channel_id or not message.get("ts"):
            return
        thread_ts = message.get("thread_ts")
        chat = f"{channel_id}:{thread_ts}" if thread_ts else str(channel_id)
        key = ConversationKey("slack", chat, tag.user)
        shown = SlackMessage(str(message.get("text") or ""), list(message.get("blocks") or []))
        pressed = Posted(str(channel_id), str(message["ts"]), shown)
        lang = await self._lang(tag.user)
        async with self._lock(key):
            incoming = Incoming(choice=choice, step=tag.step or None, lang=lang)
            result = await self.engine.handle(key, incoming)
            if result.taken:
                await self._update(pressed, answered(shown.text, shown.blocks, label))
            elif not _failed(result) and self._is_open_or_unknown(key, pressed):
                # An older question was already rewritten (answered, or its buttons taken when
                # the next one came): the press carries the client's stale copy, so leave it.
                await self._update(pressed, without_buttons(shown.text, shown.blocks))
            await self._deliver(key, Place(str(channel_id), thread_ts), result, pressed.ts)

    def _is_open_or_unknown(self, key: ConversationKey, pressed: Posted) -> bool:
        """Whether the pressed message is the question this process last asked here, or
        this process does not know which that is (asked by another instance, or before a
        restart)."""
        asked = self._open.get(key)
        return asked is None or asked.ts == pressed.ts

    async def _deliver(
        self,
        key: ConversationKey,
        place: Place,
        result: TurnResult,
        pressed_ts: str | None = None,
    ) -> None:
        """Posts the replies in order; the question asked before loses its buttons (unless
        the turn failed: then it can still be answered by pressing)."""
        replies = result.replies
        if replies and not _failed(result):
            previous = self._open.pop(key, None)
            if previous is not None and previous.ts != pressed_ts:
                await self._update(
                    previous, without_buttons(previous.message.text, previous.message.blocks)
                )
        done_label = self.engine.text("slack.done", result.lang)
        for reply in replies:
            message = render(reply, key.user, done_label)
            if reply.type == "question" and reply.step == FIELDS[0]:
                message = with_form_offer(message, self.engine, result.lang)
            response = await self._call(
                "chat.postMessage",
                self.client.chat_postMessage(
                    channel=place.channel,
                    thread_ts=place.thread_ts,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                ),
            )
            ts = response.get("ts") if response is not None else None
            if ts and any(block.get("type") == "actions" for block in message.blocks):
                self._remember(key, Posted(place.channel, str(ts), message))

    async def _form_lang(self, user: str) -> Lang:
        """The language a form is shown in: the user's Slack language, else their DM's."""
        lang = await self._lang(user)
        if lang is not None:
            return lang
        return await self.engine.conversation_lang(
            ConversationKey("slack", self._dms.get(user, ""), user)
        )

    async def _post_form(self, key: ConversationKey, result: FormResult) -> None:
        """A submitted form's decision, posted in the user's DM like the chat's."""
        async with self._lock(key):
            turn = TurnResult(result.replies, taken=True, lang=result.form.lang)
            await self._deliver(key, Place(key.chat), turn)

    def _remember(self, key: ConversationKey, question: Posted) -> None:
        self._open[key] = question
        self._open.move_to_end(key)
        while len(self._open) > OPEN_QUESTIONS:
            self._open.popitem(last=False)

    async def _update(self, posted: Posted, message: SlackMessage) -> None:
        await self._call(
            "chat.update",
            self.client.chat_update(
                channel=posted.channel, ts=posted.ts, text=message.text, blocks=message.blocks
            ),
        )

    async def _continues(self, key: ConversationKey, text: str) -> bool:
        """Whether a thread reply is for the bot: the user's check there is going on, or they
        ask for a new one ("new", as the saved message suggests). Other talk is left alone."""
        return await self.engine.is_for_bot(key, text)

    async def _first_delivery(self, body: dict[str, Any]) -> bool:
        """False for an event Slack sends again (a retry has the same event_id)."""
        event_id = body.get("event_id")
        if not event_id:
            return True
        return await self.engine.claim_delivery("slack", str(event_id))

    async def _first_request(self, request: AsyncBoltRequest, source: str) -> bool:
        """False for a signed HTTP request seen before: a replay. Slack gives slash commands
        and presses no delivery id, but each request's timestamp and signature are its own
        (the signature covers the body). Socket Mode requests carry no signature."""
        stamp = _first(request.headers.get("x-slack-request-timestamp"))
        signature = _first(request.headers.get("x-slack-signature"))
        if request.mode != "http" or not stamp or not signature:
            return True
        return await self.engine.claim_delivery(source, f"{stamp}:{signature}")

    # --- Slack Web API ------------------------------------------------------------------

    async def _lang(self, user: str) -> Lang | None:
        """The user's Slack language: "sv" for a Swedish locale, else "en"; None when they
        have no locale or Slack could not say (the engine's default then applies)."""
        if user in self._langs:
            return self._langs[user]
        response = await self._call(
            "users.info", self.client.users_info(user=user, include_locale=True)
        )
        if response is None:
            return None
        lang = language_of_locale(str((response.get("user") or {}).get("locale") or ""))
        self._langs[user] = lang
        return lang

    async def _dm_channel(self, user: str) -> str | None:
        """The DM between the bot and the user (opened if need be)."""
        known = self._dms.get(user)
        if known is not None:
            return known
        response = await self._call(
            "conversations.open", self.client.conversations_open(users=user)
        )
        channel_id = (response.get("channel") or {}).get("id") if response is not None else None
        if not channel_id:
            log.warning("slack: no DM with the user", extra={"user": pseudonym(user)})
            return None
        self._dms[user] = str(channel_id)
        return str(channel_id)

    async def _call(self, method: str, call: Awaitable[R]) -> R | None:
        """A Web API call; a failure is logged, not raised: one lost message must not stop
        the rest of the turn. (Rate limits are waited out by the client's retry handler.)"""
        try:
            return await call
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack %s failed: %s", method, _describe(error))
            self.engine.observer.platform_error("slack")
            return None


class CountedRateLimits(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's wait-out-429 handler, reporting each 429 to the observer."""

    def __init__(self, observer: Observer, *, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._observer = observer

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            self._observer.platform_rate_limited("slack")
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def _person(event: dict[str, Any]) -> str | None:
    """The user who typed a message; None for bots (this one too) and for edits, joins etc."""
    subtype = event.get("subtype")
    user = event.get("user")
    if event.get("bot_id") or (subtype is not None and subtype not in TYPED_SUBTYPES):
        return None
    return user if isinstance(user, str) and user else None


def _mentions(text: object, bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and isinstance(text, str) and f"<@{bot_user_id}" in text


def _without_mention(text: str, bot_user_id: str | None) -> str:
    if not bot_user_id:
        return text
    return re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)


def _describe(error: BaseException) -> str:
    """An error without anything a user wrote: Slack's error code, or the exception's kind."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "error")
    return type(error).__name__


def _failed(result: TurnResult) -> bool:
    """Whether the system failed in this turn (nothing the user did): an error reply."""
    return any(reply.type == "error" for reply in result.replies)


def _first(values: Sequence[str] | None) -> str | None:
    """The first value of a header as bolt keeps them (a list per name)."""
    return values[0] if values else None


def api_base_url(api_url: str | None) -> str:
    """The Web API's base URL: `api_url`, or Slack itself when unset (a fake in tests)."""
    base_url = api_url or SLACK_API
    # slack_sdk joins the base URL and the method name, so the base must end with a slash.
    return base_url if base_url.endswith("/") else base_url + "/"


def channel(settings: Settings, engine: Engine) -> SlackChannel | None:
    """The Slack app, on when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set."""
    token = secret_value(settings.slack_bot_token)
    signing_secret = secret_value(settings.slack_signing_secret)
    if token is None or signing_secret is None:
        log.info(
            "channel off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to enable it",
            extra={"channel": "slack"},
        )
        return None
    # slack_sdk and bolt log request bodies (what users typed) at debug level.
    for noisy in ("slack_sdk", "slack_bolt"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    return SlackChannel(
        engine,
        token,
        signing_secret,
        api_url=settings.slack_api_url or None,
        app_token=secret_value(settings.slack_app_token),
        max_body=settings.max_body_bytes,
    )
