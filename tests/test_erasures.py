"""Erasure marks on each backend: kept with the erasure, and applied again after a restore."""

from __future__ import annotations

import json

from bot.decision_log import Erasure
from bot.erasure import erasure_mark, parse_erasures, reapply_erasures
from bot.messages import ConversationKey
from bot.state import ConversationState
from storage import Backend
from tests.test_storage import KEY, record
from tests.test_storage_contract import audit_rows

SECRET = "erasure-key-for-tests"


async def test_an_erasure_keeps_a_keyed_hash_and_never_the_id(
    backend: Backend, database_url: str
) -> None:
    await backend.record_decision(KEY, record(1.0), ConversationState(lang="sv"))
    log = backend.decision_log
    mark = erasure_mark(SECRET, KEY.user)
    assert await log.erase_user(KEY.user, 2.0, actor="dpo", mark=mark) == 1
    assert await log.erasures() == [Erasure(mark=mark, erased_at=2.0)]
    trail = audit_rows(database_url)
    assert trail[-1]["details"] == {"decisions": 1, "erasure": mark}
    assert KEY.user not in json.dumps(trail)
    # Another key gives another mark: the hash cannot be matched without the key.
    assert erasure_mark("another key", KEY.user) != mark


async def test_erasures_are_applied_again_to_a_restored_database(backend: Backend) -> None:
    bo = ConversationKey("slack", "D2", "bo")
    cai = ConversationKey("telegram", "3", "cai")
    await backend.record_decision(KEY, record(1.0), ConversationState(lang="sv"))
    await backend.record_decision(KEY, record(2.0), ConversationState(lang="sv"))
    bos = record(3.0).model_copy(update={"channel": "slack", "chat": "D2", "user_id": "bo"})
    await backend.record_decision(bo, bos, ConversationState(lang="sv"))
    await backend.save_conversation(cai, ConversationState(lang="en"))
    log = backend.decision_log
    assert await log.user_ids() == {KEY.user, "bo", "cai"}
    # Erased after the backup this database stands for: the marks come from elsewhere.
    made_elsewhere = [
        Erasure(mark=erasure_mark(SECRET, KEY.user), erased_at=10.0),
        Erasure(mark=erasure_mark(SECRET, "cai"), erased_at=11.0),
        Erasure(mark=erasure_mark(SECRET, "someone long gone"), erased_at=12.0),
    ]
    done = await reapply_erasures(log, SECRET, made_elsewhere, 20.0)
    assert (done.users, done.decisions) == (2, 2)
    assert await log.user_ids() == {"bo"}
    assert await backend.load_conversation(cai) is None
    # Each keeps when it was first made; repeating changes nothing.
    assert await log.erasures() == made_elsewhere
    again = await reapply_erasures(log, SECRET, made_elsewhere, 30.0)
    assert (again.users, again.decisions) == (0, 0)
    assert await log.erasures() == made_elsewhere


def test_an_erasure_list_reads_marks_json_lines_and_log_lines_once_each() -> None:
    mark = erasure_mark(SECRET, "anna")
    other = erasure_mark(SECRET, "bo")
    text = "\n".join(
        [
            mark,
            json.dumps({"erasure": mark, "erased_at": 5.0}),
            json.dumps({"message": "turn", "channel": "rest"}),
            json.dumps({"message": "erase", "erasure": other, "decisions": 2}),
            "",
        ]
    )
    assert parse_erasures(text, 99.0) == [
        Erasure(mark=mark, erased_at=99.0),
        Erasure(mark=other, erased_at=99.0),
    ]
