"""A SQLite turn takes back the state its process committed last, parsed, instead of parsing
the same text again: only while the file still holds exactly that text, and never an object
that someone may have changed since (a failed turn, a caller of save_conversation)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench.engine import SCRIPTS
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from bot.state import ConversationState
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.test_storage import KEY


async def turn_saving(store: SQLiteStorage, state: ConversationState) -> None:
    async with store.turn(KEY) as tx:
        await tx.load()
        await tx.save(state)


async def loaded_in_turn(store: SQLiteStorage) -> ConversationState | None:
    async with store.turn(KEY) as tx:
        return await tx.load()


async def test_the_next_turn_gets_the_committed_state_without_parsing_it(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "tripcheck.db")
    try:
        saved = ConversationState(lang="en", phase="asking", step="title", updated_at=1.0)
        await turn_saving(store, saved)
        assert await loaded_in_turn(store) is saved
        # Taken out by that turn, which saved nothing: the next one parses the file.
        again = await loaded_in_turn(store)
        assert again is not saved and again == saved
    finally:
        await store.close()


async def test_a_state_written_by_another_process_is_read_from_the_file(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    try:
        await turn_saving(store, ConversationState(lang="sv", step="title", updated_at=1.0))
        other = sqlite3.connect(db, isolation_level=None)
        newer = ConversationState(lang="en", step="partner", updated_at=2.0)
        other.execute(
            "UPDATE conversations SET state = ? WHERE channel = ? AND chat = ? AND user_id = ?",
            [newer.model_dump_json(), KEY.channel, KEY.chat, KEY.user],
        )
        other.close()
        assert await loaded_in_turn(store) == newer
    finally:
        await store.close()


async def test_a_failed_turn_leaves_no_changed_state_behind(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "tripcheck.db")
    try:
        await turn_saving(store, ConversationState(lang="sv", step="title", updated_at=1.0))
        with pytest.raises(RuntimeError):
            async with store.turn(KEY) as tx:
                state = await tx.load()
                assert state is not None
                state.step = "changed, then the turn fails"
                raise RuntimeError("a bug in the middle of a turn")
        loaded = await loaded_in_turn(store)
        assert loaded is not None and loaded.step == "title"
    finally:
        await store.close()


async def test_a_state_saved_outside_a_turn_is_not_kept(tmp_path: Path) -> None:
    store = await SQLiteStorage.open(tmp_path / "tripcheck.db")
    try:
        state = ConversationState(lang="sv", step="title", updated_at=1.0)
        await store.save_conversation(KEY, state)
        state.step = "changed by the caller after saving"
        loaded = await loaded_in_turn(store)
        assert loaded is not None and loaded.step == "title"
    finally:
        await store.close()


async def test_every_state_of_whole_checks_is_what_parsing_it_gives(
    tmp_path: Path, rules: RuleSet, place_index: PlaceIndex
) -> None:
    """Taking the kept object is only the same as parsing if nothing in a state changes on
    the way through JSON (a tuple, a date): whole checks, each state compared after each turn."""
    store = await SQLiteStorage.open(tmp_path / "tripcheck.db")
    engine = Engine(rules, store, places=place_index)
    try:
        decisions = 0
        for number, script in enumerate(SCRIPTS):
            key = ConversationKey("test", f"u{number}", f"u{number}")
            for text in [*script, "hej", "resa"]:
                result = await engine.handle(key, Incoming(text=text))
                decisions += sum(reply.type == "decision" for reply in result.replies)
                async with store.turn(key) as tx:
                    kept = await tx.load()
                assert kept is not None
                reparsed = ConversationState.model_validate_json(kept.model_dump_json())
                assert reparsed == kept
                assert repr(reparsed) == repr(kept)
        assert decisions == len(SCRIPTS)
    finally:
        await store.close()
