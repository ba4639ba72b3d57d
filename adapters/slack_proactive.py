"""Slack writes first: a follow-up's question posted with chat.postMessage into the
conversation the check was held in (the DM, or the thread under the @mention)."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from adapters.slack import SlackChannel
from adapters.slack_blocks import render
from bot.followup import Delivery
from bot.messages import Outgoing
from bot.storage import FollowUp
from rules.models import Lang

log = logging.getLogger("tripcheck.slack")


class SlackFollowUps:
    """Sends follow-ups through the Slack channel's own Web API client."""

    def __init__(self, channel: SlackChannel) -> None:
        self._channel = channel

    async def send(self, followup: FollowUp, question: Outgoing) -> Delivery:
        # A check's chat is the DM's id, or "<channel>:<thread ts>" in a channel thread.
        channel_id, _, thread_ts = followup.chat.partition(":")
        if not channel_id:
            return "unreachable"
        lang: Lang = "en" if followup.lang == "en" else "sv"
        message = render(question, followup.user_id, self._channel.engine.text("slack.done", lang))
        try:
            await self._channel.client.chat_postMessage(
                channel=channel_id,
                thread_ts=thread_ts or None,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            code = str(error.response.get("error") or "error")
            log.warning("slack follow-up not sent: %s", code)
            # The person left, or the bot was removed from the conversation: never reachable.
            gone = code in ("channel_not_found", "is_archived", "not_in_channel", "user_disabled")
            return "unreachable" if gone else "failed"
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("slack follow-up not sent: %s", type(error).__name__)
            return "failed"
        return "sent"
