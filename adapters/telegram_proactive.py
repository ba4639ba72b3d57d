"""Telegram writes first: a follow-up's question sent with sendMessage and an inline keyboard
to the chat the check was held in."""

from __future__ import annotations

import logging

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from adapters.telegram import TelegramChannel
from adapters.telegram_render import message_parts
from bot.followup import Delivery
from bot.messages import Outgoing
from bot.storage import FollowUp

log = logging.getLogger("tripcheck.telegram")


class TelegramFollowUps:
    """Sends follow-ups through the Telegram channel's own Bot."""

    def __init__(self, channel: TelegramChannel) -> None:
        self._channel = channel

    async def send(self, followup: FollowUp, question: Outgoing) -> Delivery:
        try:
            chat_id = int(followup.chat)
        except ValueError:
            return "unreachable"
        keyboard = self._channel.keyboards.for_question(question, "")
        try:
            for part in message_parts(question, keyboard):
                await self._channel.bot.send_message(
                    chat_id, part.html, parse_mode=ParseMode.HTML, reply_markup=part.keyboard
                )
        except (Forbidden, BadRequest) as error:
            # Blocked by the person, or the chat is gone: asking again will not help.
            log.warning("telegram follow-up not sent: %s", type(error).__name__)
            return "unreachable"
        except TelegramError as error:
            log.warning("telegram follow-up not sent: %s", type(error).__name__)
            return "failed"
        return "sent"
