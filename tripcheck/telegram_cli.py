"""`tripcheck telegram set-webhook URL` and `tripcheck telegram --polling`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

from telegram.error import InvalidToken, TelegramError

from adapters.chat_kit.secrets import secret_value
from adapters.telegram import (
    ALLOWED_UPDATES,
    SECRET_FORMAT,
    WEBHOOK_PATH,
    TelegramChannel,
    log,
    make_bot,
    quiet_http_logs,
)
from bot import logs
from bot.settings import Settings
from bot.storage import StorageError
from rules.loader import RuleSetError
from tripcheck.app import open_engine


async def run_command(
    args: argparse.Namespace, settings: Settings, *, stop: asyncio.Event | None = None
) -> int:
    """`tripcheck telegram set-webhook URL` or `tripcheck telegram --polling`: the exit status.

    Polling runs until SIGINT or SIGTERM (or until `stop` is set)."""
    if secret_value(settings.telegram_bot_token) is None:
        print("tripcheck: set TELEGRAM_BOT_TOKEN (from @BotFather) first", file=sys.stderr)
        return 2
    quiet_http_logs()
    if args.telegram_command == "set-webhook":
        return await _set_webhook(args.url, settings)
    if args.polling:
        return await _run_polling(args, settings, stop or asyncio.Event())
    print("tripcheck telegram: give --polling, or set-webhook URL", file=sys.stderr)
    return 2


async def _set_webhook(url: str, settings: Settings) -> int:
    secret = secret_value(settings.telegram_webhook_secret)
    if secret is None or not SECRET_FORMAT.fullmatch(secret):
        print(
            "tripcheck: set TELEGRAM_WEBHOOK_SECRET (1-256 of A-Z a-z 0-9 _ -) first: the server"
            " accepts webhook calls only with it",
            file=sys.stderr,
        )
        return 2
    if not url.rstrip("/").endswith(WEBHOOK_PATH):
        print(f"tripcheck: note: the server receives updates at {WEBHOOK_PATH}", file=sys.stderr)
    bot = make_bot(settings)
    try:
        async with bot:
            accepted = await bot.set_webhook(
                url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
            )
    except TelegramError as error:
        reason = str(error).replace(bot.token, "<token>")
        print(f"tripcheck: Telegram refused: {reason}", file=sys.stderr)
        return 1
    print(f"webhook set: {url} (updates: {', '.join(ALLOWED_UPDATES)}; Telegram said {accepted})")
    return 0


async def _run_polling(args: argparse.Namespace, settings: Settings, stop: asyncio.Event) -> int:
    if args.db is not None:
        settings = settings.model_copy(update={"db": args.db})
    logs.configure(settings.log_level)
    quiet_http_logs()
    try:
        engine = await open_engine(settings)
    except (StorageError, RuleSetError) as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    telegram = TelegramChannel(engine, make_bot(settings))
    status = 0
    with _stopped_by_signals(stop):
        try:
            await telegram.start()
            log.info("polling", extra={"channel": "telegram"})
            await telegram.poll(stop)
        except InvalidToken:
            print("tripcheck: Telegram rejected TELEGRAM_BOT_TOKEN", file=sys.stderr)
            status = 1
        finally:
            await telegram.stop()
            await engine.drain()
            await engine.close()
    log.info("stopped", extra={"channel": "telegram"})
    return status


@contextlib.contextmanager
def _stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop`, so polling ends after the turns in progress."""
    loop = asyncio.get_running_loop()
    handled = (signal.SIGINT, signal.SIGTERM)
    for number in handled:
        loop.add_signal_handler(number, stop.set)
    try:
        yield
    finally:
        for number in handled:
            loop.remove_signal_handler(number)
