"""Teams writes first: a follow-up's question card sent as a proactive message to the
serviceUrl and conversation the channel gave with the decision (adapters/teams.py)."""

from __future__ import annotations

from adapters.teams import TeamsChannel, card_labels
from adapters.teams_cards import render
from bot.followup import Delivery
from bot.messages import Outgoing
from bot.storage import FollowUp
from rules.models import Lang


class TeamsFollowUps:
    """Sends follow-ups through the Teams channel's own Bot Connector client."""

    def __init__(self, channel: TeamsChannel) -> None:
        self._channel = channel

    async def send(self, followup: FollowUp, question: Outgoing) -> Delivery:
        reference = followup.reference or {}
        # As adapters/teams.py's followup_reference gives them.
        service_url = reference.get("service_url")
        conversation_id = reference.get("conversation_id")
        if not service_url or not conversation_id:
            return "unreachable"  # the decision's reply never reached Teams
        lang: Lang = "en" if followup.lang == "en" else "sv"
        await self._channel.warmed()  # the message is built with the SDK's models
        labels = card_labels(self._channel.engine, lang)
        message = render(question, labels, followup.user_id)
        sent = await self._channel.connector.send(service_url, conversation_id, message)
        return "sent" if sent is not None else "failed"
