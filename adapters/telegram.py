"""The Telegram channel for partner contacts: by webhook inside `tripcheck serve`, or by long
polling with `tripcheck telegram --polling` where there is no public URL."""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import re
import warnings
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import Bot, BotCommand, CallbackQuery, Message, Update, User
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, RetryAfter, TelegramError
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from adapters.chat_kit import BodyTooLarge, clean_strings, parse_json_object, read_body
from adapters.chat_kit.locale import language_of_locale
from adapters.chat_kit.secrets import secret_value
from adapters.telegram_render import (
    Done,
    Keyboards,
    Toggle,
    answered_html,
    done_label,
    message_parts,
    pressed_label,
    toggled,
)
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming, TurnResult
from bot.ordering import OrderedTasks
from bot.settings import Settings
from bot.state import Role
from rules.models import Lang

log = logging.getLogger("tripcheck.telegram")
T = TypeVar("T")

TELEGRAM_API = "https://api.telegram.org"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
# The bot's command menu, in this order; each description is the text telegram.command.<name>.
COMMANDS = ("start", "check", "help", "language", "cancel", "status")
# Everyone who writes to the bot on Telegram is a partner contact, never a municipal employee.
ROLE: Role = "partner_contact"
# What Telegram accepts as a webhook secret_token.
SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,256}")
POLL_SECONDS = 30
MAX_BODY = 1024 * 1024
# Shutdown waits this long for updates already acknowledged to Telegram.
STOP_SECONDS = 15.0
# Flood control: how often a call is tried, and the longest wait Telegram may ask for.
ATTEMPTS = 3
MAX_RETRY_WAIT = 30.0
MAX_POLL_BACKOFF = 60.0
# Conversations whose latest question is remembered, so its keyboard goes when the next is sent.
OPEN_QUESTIONS = 10_000


@dataclass(frozen=True)
class Posted:
    """A question message the bot sent, with its keyboard."""

    chat_id: int
    message_id: int


def make_bot(settings: Settings) -> Bot:
    """A Bot for settings.telegram_api_url (Telegram itself when unset, a fake in tests)."""
    token = secret_value(settings.telegram_bot_token)
    if token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    api = (settings.telegram_api_url or TELEGRAM_API).rstrip("/")
    return Bot(
        token,
        base_url=f"{api}/bot",
        base_file_url=f"{api}/file/bot",
        # Updates of different chats are handled at once, so sends must not queue for one
        # connection (PTB's default pool timeout is one second).
        request=HTTPXRequest(connection_pool_size=64, pool_timeout=10.0),
    )


class TelegramChannel:
    """Telegram updates in, engine turns, HTML messages with inline keyboards out.

    An update is handled in the background (Telegram resends to a slow webhook), after the
    earlier updates of its chat, so a user's quick answers keep their order. A button answers
    only the question it belongs to: a press on an old question changes nothing and loses its
    keyboard, and a question's keyboard goes when the next question is sent."""

    name = "telegram"

    def __init__(self, engine: Engine, bot: Bot, webhook_secret: str | None = None) -> None:
        self.engine = engine
        self.bot = bot
        self.keyboards = Keyboards()
        self._secret = webhook_secret.encode() if webhook_secret else None
        self._username: str | None = None
        self._work: OrderedTasks[int] = OrderedTasks()
        self._open: OrderedDict[ConversationKey, Posted] = OrderedDict()

    @property
    def routes(self) -> Sequence[BaseRoute]:
        if self._secret is None:
            return []
        return [Route(WEBHOOK_PATH, self.receive, methods=["POST"])]

    async def start(self) -> None:
        """Connects to the Bot API and sets the command menu in Swedish and English."""
        try:
            await self.bot.initialize()
            self._username = self.bot.username
            # Swedish for apps set to Swedish; English for everyone else (no language code).
            await self.bot.set_my_commands(self._commands("sv"), language_code="sv")
            await self.bot.set_my_commands(self._commands("en"))
        except TelegramError as error:
            # The other channels must not go down with Telegram; each send is tried again.
            log.warning("telegram start-up incomplete: %s", self._describe(error))

    async def stop(self) -> None:
        """Waits for the updates still being handled, then closes the Bot API connections."""
        await self.settled(STOP_SECONDS)
        await self.bot.shutdown()

    async def settled(self, timeout: float) -> None:
        """Waits (at most `timeout` seconds) until the updates received so far are handled."""
        await self._work.wait(timeout)

    def _commands(self, lang: Lang) -> list[BotCommand]:
        text = self.engine.text
        return [BotCommand(name, text(f"telegram.command.{name}", lang)) for name in COMMANDS]

    # --- receiving ----------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        """POST /telegram/webhook: checks the secret, answers at once, handles the update after."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if self._secret is None or not hmac.compare_digest(given, self._secret):
            return Response(status_code=403)
        try:
            body = await read_body(request, MAX_BODY)
        except BodyTooLarge:
            return Response(status_code=413)
        update = self._parse(body)
        if update is None:
            return Response(status_code=400)
        self.submit(update)
        return Response(status_code=200)

    def _parse(self, body: bytes) -> Update | None:
        try:
            # Cleaned once here: a lone surrogate in a name or a text reaches no database.
            return Update.de_json(clean_strings(parse_json_object(body)), self.bot)
        except Exception:
            # Whatever the payload, a malformed one is refused, never a server error.
            pass
        log.warning("webhook: the body is not a Telegram update")
        return None

    async def poll(self, stop: asyncio.Event, *, wait_seconds: int = POLL_SECONDS) -> None:
        """Long polling until `stop` is set. The webhook is deleted first (Telegram serves one
        or the other); the offset confirms every update received, so each comes once."""
        offset: int | None = None
        backoff = 1.0
        webhook_deleted = False
        while not stop.is_set():
            try:
                if not webhook_deleted:
                    webhook_deleted = bool(await self.bot.delete_webhook())
                updates = await _until(
                    stop,
                    self.bot.get_updates(
                        offset=offset, timeout=wait_seconds, allowed_updates=ALLOWED_UPDATES
                    ),
                )
            except InvalidToken:
                raise
            except TelegramError as error:
                log.warning("telegram polling: %s; again in %s s", self._describe(error), backoff)
                await _until(stop, asyncio.sleep(backoff))
                backoff = min(backoff * 2, MAX_POLL_BACKOFF)
                continue
            backoff = 1.0
            for update in updates or ():
                offset = update.update_id + 1
                self.submit(update)

    def submit(self, update: Update) -> None:
        """Handles an update in the background, after the earlier updates of its chat."""
        chat = update.effective_chat
        chat_id = chat.id if chat is not None else 0
        self._work.submit(chat_id, functools.partial(self.handle_update, update))

    async def handle_update(self, update: Update) -> None:
        """One update, once: a message or a button press (other kinds are ignored)."""
        try:
            if not await self._first_delivery(update.update_id):
                return
            if update.callback_query is not None:
                await self._on_button(update.callback_query)
            elif update.message is not None:
                await self._on_message(update.message)
        except Exception:
            log.exception("telegram update failed", extra={"update_id": update.update_id})

    async def _first_delivery(self, update_id: int) -> bool:
        return await self.engine.claim_delivery("telegram", str(update_id))

    # --- turns --------------------------------------------------------------------------

    async def _on_message(self, message: Message) -> None:
        user = message.from_user
        if user is None or user.is_bot:
            return
        text = self._command_text(message.text or "")
        if text is None:
            return
        key = conversation_key(message.chat.id, user)
        incoming = Incoming(text=text, lang=language_hint(user))
        result = await self.engine.handle(key, incoming, role=ROLE)
        await self._send(message.chat.id, key, result)

    def _command_text(self, text: str) -> str | None:
        """A command as the engine knows it ("/start@TripcheckBot go" → "/start"), other text
        as it is; None for a command addressed to another bot in a group."""
        if not text.startswith("/"):
            return text
        command, _, addressee = text.split(maxsplit=1)[0].partition("@")
        if addressee and self._username and addressee.lower() != self._username.lower():
            return None
        return command

    async def _on_button(self, query: CallbackQuery) -> None:
        await self._call("answerCallbackQuery", lambda: self.bot.answer_callback_query(query.id))
        if query.message is None or query.from_user.is_bot:
            return
        chat_id = query.message.chat.id
        # A message older than 48 hours is "inaccessible": its buttons still count.
        message = query.message if isinstance(query.message, Message) else None
        markup = message.reply_markup if message is not None else None
        pressed = self.keyboards.pressed(query.data or "")
        if pressed is None:
            # A keyboard this bot can no longer read (made before presses named their
            # question): it answers nothing, so it goes.
            await self._remove_keyboard(chat_id, query.message.message_id)
            return
        if isinstance(pressed, Toggle):
            if message is not None and markup is not None:
                ticked = toggled(markup, pressed)
                edit = functools.partial(
                    self.bot.edit_message_reply_markup,
                    chat_id,
                    message.message_id,
                    reply_markup=ticked,
                )
                await self._call("editMessageReplyMarkup", edit)
            return
        lang = language_hint(query.from_user)
        if isinstance(pressed, Done):
            label = done_label(markup, pressed)
            choice = pressed.choice
        else:
            label = pressed_label(markup, query.data or "") or ""
            # A long value forgotten since a restart: such values are names, shown as labels.
            choice = pressed.value if pressed.value is not None else label
        key = conversation_key(chat_id, query.from_user)
        incoming = Incoming(choice=choice, step=pressed.step, lang=lang)
        result = await self.engine.handle(key, incoming, role=ROLE)
        # Only a taken press marks its question answered; any other loses its keyboard.
        if message is not None and label and result.taken:
            await self._mark_answered(message, label)
        else:
            await self._remove_keyboard(chat_id, query.message.message_id)
        await self._send(chat_id, key, result, answered=query.message.message_id)

    async def _mark_answered(self, message: Message, label: str) -> None:
        """Shows the question with the chosen answer, and without its buttons."""
        text = message.text
        html = answered_html(message.text_html, text, label) if text else None
        if html is None:
            await self._remove_keyboard(message.chat.id, message.message_id)
            return
        edit_text = functools.partial(
            self.bot.edit_message_text,
            html,
            message.chat.id,
            message.message_id,
            parse_mode=ParseMode.HTML,
        )
        await self._call("editMessageText", edit_text)

    # --- sending ------------------------------------------------------------------------

    async def _remove_keyboard(self, chat_id: int, message_id: int) -> None:
        edit = functools.partial(self.bot.edit_message_reply_markup, chat_id, message_id)
        await self._call("editMessageReplyMarkup", edit)

    async def _send(
        self,
        chat_id: int,
        key: ConversationKey,
        result: TurnResult,
        answered: int | None = None,
    ) -> None:
        """The replies in order, as HTML; a question carries its keyboard, and the question
        asked before loses its own (unless it is the one just `answered`)."""
        previous = self._open.pop(key, None)
        if previous is not None and previous.message_id != answered and result.replies:
            await self._remove_keyboard(previous.chat_id, previous.message_id)
        for reply in result.replies:
            keyboard = None
            if reply.choices:
                done = self.engine.text("telegram.done", result.lang) if reply.multi else ""
                keyboard = self.keyboards.for_question(reply, done)
            for part in message_parts(reply, keyboard):
                send = functools.partial(
                    self.bot.send_message,
                    chat_id,
                    part.html,
                    parse_mode=ParseMode.HTML,
                    reply_markup=part.keyboard,
                )
                sent = await self._call("sendMessage", send)
                if sent is not None and part.keyboard is not None:
                    self._remember(key, Posted(chat_id, sent.message_id))

    def _remember(self, key: ConversationKey, question: Posted) -> None:
        self._open[key] = question
        self._open.move_to_end(key)
        while len(self._open) > OPEN_QUESTIONS:
            self._open.popitem(last=False)

    async def _call(self, method: str, call: Callable[[], Awaitable[T]]) -> T | None:
        """A Bot API call that waits out flood control. Other failures are logged, not raised:
        one lost message must not stop the rest of the turn."""
        for _ in range(ATTEMPTS):
            try:
                return await call()
            except RetryAfter as error:
                wait = min(_retry_seconds(error), MAX_RETRY_WAIT)
                log.warning("telegram flood control", extra={"method": method, "wait": wait})
                self.engine.observer.platform_rate_limited("telegram")
                await asyncio.sleep(wait)
            except BadRequest as error:
                # "Message is not modified": a button pressed twice; the message already shows it.
                if "not modified" not in error.message:
                    log.warning("telegram %s refused: %s", method, self._describe(error))
                    self.engine.observer.platform_error("telegram")
                return None
            except TelegramError as error:
                log.warning("telegram %s failed: %s", method, self._describe(error))
                self.engine.observer.platform_error("telegram")
                return None
        log.warning("telegram %s given up after flood control", method)
        self.engine.observer.platform_error("telegram")
        return None

    def _describe(self, error: TelegramError) -> str:
        """The error's message without the bot token (some messages and URLs include it)."""
        return str(error).replace(self.bot.token, "<token>")


def conversation_key(chat_id: int, user: User) -> ConversationKey:
    """The engine's key for a Telegram user in a chat."""
    return ConversationKey("telegram", str(chat_id), str(user.id))


def language_hint(user: User) -> Lang:
    """Swedish for a Telegram app set to Swedish, else English (for a new conversation): a
    Telegram user is a partner contact, often abroad, and the default command menu is English."""
    return language_of_locale(user.language_code) or "en"


def _retry_seconds(error: RetryAfter) -> float:
    # PTB warns that retry_after becomes a timedelta; both forms are handled here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


async def _until(stop: asyncio.Event, work: Awaitable[T]) -> T | None:
    """The result of `work`, or None when `stop` is set first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
    return task.result() if task in done else None


def quiet_http_logs() -> None:
    # httpx logs every request's URL at info level, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def channel(settings: Settings, engine: Engine) -> TelegramChannel | None:
    """The Telegram webhook, on when TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET are set."""
    if secret_value(settings.telegram_bot_token) is None:
        log.info("channel off: set TELEGRAM_BOT_TOKEN to enable it", extra={"channel": "telegram"})
        return None
    secret = secret_value(settings.telegram_webhook_secret)
    if secret is None or not SECRET_FORMAT.fullmatch(secret):
        log.warning(
            "channel off: the webhook needs TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -),"
            " or anyone could post updates to it; without a public URL use"
            " `tripcheck telegram --polling`",
            extra={"channel": "telegram"},
        )
        return None
    quiet_http_logs()
    return TelegramChannel(engine, make_bot(settings), webhook_secret=secret)
