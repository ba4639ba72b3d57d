"""Lone surrogates and control characters in the ids and texts each platform delivers: the
delivery is answered 200, the turn runs, and nothing raises (the database driver and the
log's pseudonym cannot encode a lone surrogate). The fix is to clean once at the edge with
adapters.chat_kit."""

from __future__ import annotations

import json

import pytest

from rules.ruleset import RuleSet
from tests.fake_slack import FakeSlack
from tests.faults.inprocess import (
    TEAMS_SETTINGS,
    TELEGRAM_HEADERS,
    failures,
    slack_dm_event,
    slack_settings,
    slack_signed,
    teams_activity,
    telegram_settings,
    telegram_update,
    turns_after,
)

pytestmark = pytest.mark.faults

DIRTY = "hej \ud800 d\udfffå \x00\x1b[2J"


async def test_slack_survives_dirty_ids_and_text(
    rules: RuleSet, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(slack_dm_event("Ev0DIRTY", user="U0\ud800", text=DIRTY)).encode()
    headers = slack_signed(body, "application/json")
    statuses, turns = await turns_after(
        1, rules, slack_settings(slack_api), caplog, "/slack/events", body, headers
    )
    print(f"tried a Slack DM with a lone surrogate in user and text: {statuses}, {turns} turn(s)")
    assert statuses == [200] and turns == 1 and not failures(caplog), failures(caplog)


async def test_telegram_survives_dirty_names_and_text(
    rules: RuleSet, telegram_api_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps(telegram_update(901, text=DIRTY, name="G\ud800")).encode()
    settings = telegram_settings(telegram_api_url)
    statuses, turns = await turns_after(
        1, rules, settings, caplog, "/telegram/webhook", body, TELEGRAM_HEADERS
    )
    print(f"tried a Telegram message with a lone surrogate: {statuses}, {turns} turn(s)")
    assert statuses == [200] and turns == 1 and not failures(caplog), failures(caplog)


async def test_teams_survives_dirty_ids_and_text(
    rules: RuleSet, connector_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    activity = teams_activity("1790000000002", connector_url, aad="aad-\ud800", text=DIRTY)
    headers = {"Content-Type": "application/json"}
    statuses, turns = await turns_after(
        1, rules, TEAMS_SETTINGS, caplog, "/api/messages", json.dumps(activity).encode(), headers
    )
    print(f"tried a Teams message with a lone surrogate in the ids: {statuses}, {turns} turn(s)")
    assert statuses == [200] and turns == 1 and not failures(caplog), failures(caplog)
