"""`kill -9` of one of two `tripcheck serve` processes under load, on one PostgreSQL database
and on one SQLite file: every decision a client was told about is in the database, whole, and
no check has two decisions; every acknowledged turn is kept, in order; and the conversations
the killed instance was in the middle of go on on the other."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.cli_helpers import PLACES_CACHE
from tests.instances import Load, audit, server_environment, start_instances, stop_all
from tests.test_conversation import ENGLISH_CHECK, SWEDISH_CHECK

pytestmark = pytest.mark.slow

WHOLE_CHECKS = [
    ["hej", *(text for _, text in SWEDISH_CHECK), "spara"],
    ["hello", *(text for _, text in ENGLISH_CHECK), "save"],
]
SENDERS = 8
CHECKS = 40
# The kill comes once this many turns were acknowledged: some checks done (more turns than
# SENDERS unfinished checks can hold), most to come.
KILL_AFTER_TURNS = 200


async def test_kill_9_of_one_instance_under_load_keeps_every_acknowledged_decision(
    database_url: str, tmp_path: Path
) -> None:
    instances = await start_instances(2, server_environment(database_url, PLACES_CACHE), tmp_path)
    load = Load([i.url for i in instances], WHOLE_CHECKS, senders=SENDERS, checks=CHECKS)
    sending = asyncio.create_task(load.run())
    try:
        assert await load.turns_reached(KILL_AFTER_TURNS), instances[0].output()
        instances[1].kill()
        decided_before_kill = sum(run.decision is not None for run in load.runs)
        await sending
        # The checks the killed instance was in the middle of go on on the other.
        await load.follow_up_abandoned()
        assert await instances[0].stop() == 0, instances[0].output()
    finally:
        sending.cancel()
        await stop_all(instances)

    # The kill hit checks on their way (their requests failed), and the survivor went on.
    assert decided_before_kill >= 1
    assert load.failed_requests >= 1
    assert load.error_replies == 0, instances[0].output()
    decided = sum(run.decision is not None for run in load.runs)
    assert decided > decided_before_kill
    assert any(run.abandoned for run in load.runs)

    found = await audit(database_url, load.runs)
    assert found.acknowledged_decisions == decided
    assert found.lost_decisions == 0
    assert found.lost_turns == 0
    assert found.duplicates == 0
    assert found.broken == []
    # Abandoned checks may have made a decision their client never heard of; at most one.
    assert decided <= found.decisions <= decided + load.failed_requests
