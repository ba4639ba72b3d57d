"""Replays: the same delivery sent again (a platform's retry, or a captured request sent
by someone else within the signature's five minutes) makes one turn, not one per copy.
REST has no delivery id, so there is nothing to replay there: a client that posts a message
twice means it twice."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from rules.ruleset import RuleSet
from tests.fake_slack import TEAM_ID, FakeSlack
from tests.faults.inprocess import (
    TEAMS_SETTINGS,
    TELEGRAM_HEADERS,
    slack_dm_event,
    slack_settings,
    slack_signed,
    teams_activity,
    telegram_settings,
    telegram_update,
    turns_after,
)

pytestmark = pytest.mark.faults

COPIES = 4


async def test_a_replayed_slack_event_makes_one_turn(
    rules: RuleSet, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(slack_dm_event("Ev0REPLAYED")).encode()
    headers = slack_signed(body, "application/json")
    statuses, turns = await turns_after(
        COPIES, rules, slack_settings(slack_api), caplog, "/slack/events", body, headers
    )
    print(f"tried one Slack event {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


async def test_a_replayed_slash_command_makes_one_turn(
    rules: RuleSet, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    form = {
        "team_id": TEAM_ID,
        "channel_id": "C0GENERAL",
        "user_id": "U0ANNA",
        "command": "/tripcheck",
        "text": "",
        "api_app_id": "A0TRIPCHECK",
        "response_url": slack_api.response_url_for(1),
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    body = urlencode(form).encode()
    headers = slack_signed(body, "application/x-www-form-urlencoded")
    statuses, turns = await turns_after(
        COPIES, rules, slack_settings(slack_api), caplog, "/slack/events", body, headers
    )
    print(f"tried one signed /tripcheck {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


async def test_a_replayed_telegram_update_makes_one_turn(
    rules: RuleSet, telegram_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(telegram_update(777)).encode()
    settings = telegram_settings(telegram_api_url)
    statuses, turns = await turns_after(
        COPIES, rules, settings, caplog, "/telegram/webhook", body, TELEGRAM_HEADERS
    )
    print(f"tried one Telegram update {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


async def test_a_replayed_teams_activity_makes_one_turn(
    rules: RuleSet, connector_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(teams_activity("1790000000001", connector_url)).encode()
    headers = {"Content-Type": "application/json"}
    statuses, turns = await turns_after(
        COPIES, rules, TEAMS_SETTINGS, caplog, "/api/messages", body, headers
    )
    print(f"tried one Teams activity {COPIES} times: {statuses}, {turns} turn(s)")
    assert statuses == [200] * COPIES and turns == 1


@pytest.mark.skip(reason="REST has no delivery id: a message posted twice is meant twice")
def test_a_replayed_rest_message() -> None:
    """Kept in the suite's report, so that the gap is visible."""
