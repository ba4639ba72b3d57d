"""SQLite storage: WAL mode, numbered SQL migrations, one reader thread and one turn thread.

Within a process every write holds one asyncio lock; across processes on the same file,
`BEGIN IMMEDIATE` takes SQLite's write lock, so a turn's load–decide–save is atomic even when
two `tripcheck serve` processes share the file."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.decision_log import STATS_TIME_ZONE
from bot.messages import ConversationKey
from bot.state import ConversationState
from bot.storage import DecisionRecord, FollowUp, StorageError, StoredDecision
from storage.followup_rows import followup_of, reference_json
from storage.migrations import migrations_of
from storage.rows import from_row as _from_row
from storage.rows import to_row as _to_row
from storage.sqlite.log import SQLiteDecisionLog
from storage.sqlite.search_index import index_unindexed

T = TypeVar("T")
MIGRATIONS = migrations_of("storage.sqlite")
SCHEMA_VERSION = len(MIGRATIONS)
# Platforms retry for minutes, not days: older delivery ids are forgotten.
DELIVERY_MEMORY_SECONDS = 7 * 86400
# A turn of another process holds the write lock for milliseconds; waiting longer means trouble.
BUSY_TIMEOUT_MS = 5000
# Turns between two WAL checkpoints (run off the turn path; ~4 pages per turn, so each copies
# about the 1,000 pages SQLite's default would).
CHECKPOINT_EVERY = 250
# The WAL is started afresh once it holds this many pages (16 MB of 4 kB pages).
WAL_RESTART_FRAMES = 4096
# Conversations whose state this process saved last, kept parsed: a turn that loads exactly
# the text it saved takes the object instead of parsing it again (a third of the storage work
# of a turn). Only the most recently saved ones: the rest are parsed as usual.
PARSED_STATES = 1024
_STOCKHOLM = ZoneInfo(STATS_TIME_ZONE)


def local_month(timestamp: float | None) -> str | None:
    """The month (YYYY-MM) a moment falls in, in Stockholm time."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).astimezone(_STOCKHOLM).strftime("%Y-%m")


def statements(sql: str) -> list[str]:
    """A migration file cut into whole statements (a trigger's body keeps its semicolons)."""
    found: list[str] = []
    pending = ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                found.append(pending.strip())
            pending = ""
    if pending.strip() and not pending.strip().startswith("--"):
        found.append(pending.strip())
    return found


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Brings the schema to version `upto` in one transaction; returns the version it had.
    `BEGIN IMMEDIATE` takes the write lock at once, so two processes starting together migrate
    one after the other, and a read-only or locked file fails here with nothing written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)")
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            conn.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = 0 if row is None else int(row[0])
        if current > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {current} is newer than this Tripcheck knows ({SCHEMA_VERSION})"
            )
        for migration in MIGRATIONS[current:upto]:
            for statement in statements(migration.sql):
                conn.execute(statement)
        if upto > current:
            conn.execute("UPDATE schema_version SET version = ?", [upto])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switches a new database to WAL. The switch needs the file to itself, and SQLite refuses
    at once (no busy wait) when another process opening it at the same moment holds a lock,
    so it is tried again for as long as a busy wait would last."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _connect(name: str) -> sqlite3.Connection:
    conn = sqlite3.connect(name, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.create_function("tripcheck_month", 1, local_month, deterministic=True)
    return conn


class SQLiteStorage:
    """The default Storage and DecisionLog on one file."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        turn_conn: sqlite3.Connection,
        executors: tuple[ThreadPoolExecutor, ThreadPoolExecutor],
        name: str,
        turn_never_waits: bool = False,
    ) -> None:
        self._conn = conn
        self._turn_conn = turn_conn
        # The turn connection's busy timeout is 0 (WAL): see _begin_waiting.
        self._turn_never_waits = turn_never_waits
        self._executor, self._turn_executor = executors
        self._name = name
        self._identity = _identity(name)
        # One writer per process; BEGIN IMMEDIATE orders the processes.
        self._write_lock = asyncio.Lock()
        self._turns_since_checkpoint = 0
        self._checkpointing: asyncio.Task[None] | None = None
        # The other thread's checkpoint has finished: the next turn copies the rest.
        self._backfilled = False
        # key -> (the state text last committed by a turn of this process, that state).
        self._parsed: OrderedDict[ConversationKey, tuple[str, ConversationState]] = OrderedDict()
        self.decision_log = SQLiteDecisionLog(conn, self._run, self._write, _from_row)

    @classmethod
    async def open(cls, path: str | Path) -> SQLiteStorage:
        """Opens (creating if needed) and migrates the database; StorageError if unusable."""
        name = str(path)
        executors = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tripcheck-sqlite"),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="tripcheck-sqlite-turn"),
        )

        def connect() -> tuple[sqlite3.Connection, sqlite3.Connection, bool]:
            if name != ":memory:":
                Path(name).parent.mkdir(parents=True, exist_ok=True)
                _refuse_read_only(name)
            conn = _connect(name)
            try:
                if name != ":memory:":
                    _use_wal(conn)
                migrate(conn)
                # What a process that stopped had recorded but not indexed yet.
                conn.execute("BEGIN IMMEDIATE")
                index_unindexed(conn)
                conn.execute("COMMIT")
                if name != ":memory:":
                    # The schema belongs in the database file itself, not only in its WAL.
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                conn.close()
                raise
            # An in-memory database is private to its connection: turns share the main one.
            turn_conn = conn if name == ":memory:" else _connect(name)
            turn_conn.execute("PRAGMA synchronous = NORMAL")
            if turn_conn is not conn:
                turn_conn.execute("PRAGMA wal_autocheckpoint = 0")
                if _journal_mode(turn_conn) == "wal":
                    # Holding the write lock, a turn's statements in WAL mode wait for no
                    # one: the turn connection never waits but to begin (_begin_waiting),
                    # which saves two PRAGMAs, each a read of the WAL index, on every turn.
                    turn_conn.execute("PRAGMA busy_timeout = 0")
                    return conn, turn_conn, True
            return conn, turn_conn, False

        try:
            conn, turn_conn, never_waits = await asyncio.get_running_loop().run_in_executor(
                executors[0], connect
            )
        except sqlite3.Error as error:
            for executor in executors:
                executor.shutdown(wait=False)
            raise StorageError(_explain(name, error)) from error
        except OSError as error:
            for executor in executors:
                executor.shutdown(wait=False)
            raise StorageError(f"Cannot open the database {name}: {error}") from error
        if name == ":memory:":
            executors = (executors[0], executors[0])
        return cls(conn, turn_conn, executors, name, never_waits)

    async def _run(self, work: Callable[[], T], *, turn: bool = False) -> T:
        executor = self._turn_executor if turn else self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, work)
        except sqlite3.Error as error:
            raise StorageError(_explain(self._name, error)) from error
        except OSError as error:
            raise StorageError(f"The database {self._name} cannot be used: {error}") from error
        except RuntimeError as error:  # the executor was shut down: storage is closed
            raise StorageError(f"The database {self._name} is closed.") from error

    async def _in_turn(self, work: Callable[[], T]) -> T:
        """Runs `work` inside a turn whose transaction has begun: on the event loop itself.

        Holding SQLite's write lock, the turn's statements never wait for another process,
        and in WAL mode with synchronous = NORMAL (and no checkpoint on this connection) a
        commit appends to the WAL without a sync: tens of microseconds, less than a trip to
        the turn thread and back, which the turn would make while holding the write lock
        that every other turn waits for. An in-memory database shares one connection with
        the reader thread, so there it goes to that thread."""
        if self._turn_conn is self._conn:
            return await self._run(work, turn=True)
        return self._on_loop(work)

    def _on_loop(self, work: Callable[[], T]) -> T:
        """`work` on the turn connection, here and now, its errors as StorageError."""
        try:
            return work()
        except sqlite3.Error as error:
            raise StorageError(_explain(self._name, error)) from error
        except OSError as error:
            raise StorageError(f"The database {self._name} cannot be used: {error}") from error

    async def _write(self, work: Callable[[], T]) -> T:
        """Runs one write on the main connection, in its own transaction."""
        async with self._write_lock:
            return await self._run(lambda: self._transaction(lambda _: work()))

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work(conn)` on the main connection in a transaction of its own (on its thread)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(self._conn)
            self._still_there()
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return result

    def _still_there(self) -> None:
        """Raises if the file was deleted or replaced while open: a commit would then go to a
        file nobody will read again, and the decision would be acknowledged and lost."""
        if self._identity is not None and _identity(self._name) != self._identity:
            raise StorageError(f"The database {self._name} was deleted or replaced while open.")

    def turn(self, key: ConversationKey) -> _TurnBlock:
        return _TurnBlock(self, key)

    async def _finish(self, turn: SQLiteTurn, failed: bool) -> None:
        """Commits a turn that ended well (rolls it back if the commit fails), or rolls back
        one that did not."""
        conn = turn._conn
        if not failed:

            def commit() -> None:
                if conn.in_transaction:
                    self._still_there()
                    conn.execute("COMMIT")

            try:
                if turn.begun:
                    await self._in_turn(commit)
                    self._after_commit()
                    if turn.saved is not None:
                        self._keep_parsed(turn._key, turn.saved)
                return
            except BaseException:
                if conn.in_transaction:
                    await asyncio.shield(self._rollback(conn))
                raise
        if conn.in_transaction:
            await asyncio.shield(self._rollback(conn))

    def _keep_parsed(self, key: ConversationKey, saved: tuple[str, ConversationState]) -> None:
        self._parsed[key] = saved
        self._parsed.move_to_end(key)
        if len(self._parsed) > PARSED_STATES:
            self._parsed.popitem(last=False)

    def _take_parsed(self, key: ConversationKey, text: str | None) -> ConversationState | None:
        """The state this process committed for `key`, if `text` (just read) is still exactly
        it. Taken out, so one object is never handed to two turns: the turn that changes it
        puts it back only once its own save has committed."""
        kept = self._parsed.pop(key, None)
        return kept[1] if kept is not None and kept[0] == text else None

    def _after_commit(self) -> None:
        """Every CHECKPOINT_EVERY turns, checkpoint the WAL on the other thread, unawaited;
        the turn after it copies the little written meanwhile.

        The turn connection never checkpoints itself (wal_autocheckpoint = 0): a checkpoint
        writes and syncs the database file, and would land on whichever turn crossed the
        threshold. But SQLite starts the WAL from its beginning again only after a
        checkpoint that copied all of it, and under steady turns the other thread's never
        does: the WAL would grow by every turn's pages for as long as the load lasts, and
        every turn with it. So once that checkpoint is done, the next turn, still holding
        the write lock and with nothing awaited, copies what was written since (a few
        dozen pages, and a sync: a few ms, so only once the WAL holds WAL_RESTART_FRAMES);
        the turn after it starts the WAL afresh."""
        if self._turn_conn is self._conn:
            return
        if self._backfilled:
            self._backfilled = False
            with contextlib.suppress(sqlite3.Error):
                self._turn_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._turns_since_checkpoint += 1
        if self._turns_since_checkpoint < CHECKPOINT_EVERY or self._checkpointing is not None:
            return
        self._turns_since_checkpoint = 0

        async def checkpoint() -> None:
            try:
                with contextlib.suppress(StorageError):
                    # The decisions of these turns go into the search index in one batch.
                    await self._run(lambda: self._transaction(index_unindexed))
                    _, frames, _ = await self._run(
                        lambda: self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    )
                    self._backfilled = frames >= WAL_RESTART_FRAMES
            finally:
                self._checkpointing = None

        self._checkpointing = asyncio.get_running_loop().create_task(checkpoint())

    async def _rollback(self, conn: sqlite3.Connection) -> None:
        # If the connection is unusable, the transaction dies with it.
        with contextlib.suppress(StorageError):
            await self._run(lambda: conn.execute("ROLLBACK"), turn=True)

    async def load_conversation(self, key: ConversationKey) -> ConversationState | None:
        text = await self._run(lambda: _load_state(self._conn, key))
        return None if text is None else ConversationState.model_validate_json(text)

    async def save_conversation(self, key: ConversationKey, state: ConversationState) -> None:
        async with self.turn(key) as tx:
            # The caller keeps `state` and may change it: it is not kept parsed.
            await tx.save(state, keep_parsed=False)

    async def record_decision(
        self, key: ConversationKey, record: DecisionRecord, state: ConversationState
    ) -> int:
        async with self.turn(key) as tx:
            return await tx.record_decision(record, state, keep_parsed=False)

    async def last_department(self, key: ConversationKey) -> str | None:
        return await self._run(lambda: _last_department(self._conn, key))

    async def last_decision(self, key: ConversationKey) -> StoredDecision | None:
        rows = await self._run(lambda: _last_decision_rows(self._conn, key))
        return _from_row(rows[0]) if rows else None

    async def get_decision(self, decision_id: int) -> StoredDecision | None:
        return await self.decision_log.get_decision(decision_id)

    async def recent_decisions(
        self, channel: str, user_id: str, limit: int = 10
    ) -> list[StoredDecision]:
        sql = (
            "SELECT * FROM decisions WHERE channel = ? AND user_id = ?"
            " ORDER BY created_at DESC, id DESC LIMIT ?"
        )
        rows = await self._run(lambda: _rows(self._conn, sql, [channel, user_id, limit]))
        return [_from_row(row) for row in rows]

    async def claim_delivery(self, source: str, delivery_id: str, now: float) -> bool:
        def work() -> bool:
            cursor = self._conn.execute(
                "INSERT INTO deliveries (source, delivery_id, received_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING rowid",
                [source, delivery_id, now],
            )
            row = cursor.fetchone()
            if row is not None and row[0] % 1000 == 0:
                self._conn.execute(
                    "DELETE FROM deliveries WHERE received_at < ?",
                    [now - DELIVERY_MEMORY_SECONDS],
                )
            return row is not None

        return await self._write(work)

    async def set_followup_reference(
        self, key: ConversationKey, decision_id: int, reference: dict[str, str]
    ) -> None:
        await self._write(
            lambda: self._conn.execute(
                "UPDATE followups SET reference = ? WHERE decision_id = ? AND channel = ?"
                " AND chat = ? AND user_id = ?",
                [reference_json(reference), decision_id, key.channel, key.chat, key.user],
            )
        )

    async def claim_followups(
        self, holder: str, now: float, *, channels: tuple[str, ...], lease: float, limit: int
    ) -> list[FollowUp]:
        if not channels:
            return []
        marks = ", ".join("?" for _ in channels)
        sql = (
            "UPDATE followups SET claimed_by = ?, claimed_until = ? WHERE decision_id IN"
            " (SELECT decision_id FROM followups WHERE due_at IS NOT NULL AND due_at <= ?"
            " AND answered_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)"
            f" AND channel IN ({marks}) ORDER BY due_at LIMIT ?) RETURNING *"
        )
        params = [holder, now + lease, now, now, *channels, limit]
        rows = await self._write(lambda: _rows(self._conn, sql, params))
        return sorted((followup_of(row) for row in rows), key=lambda f: f.due_at or 0.0)

    async def followup_sent(
        self, decision_id: int, holder: str, now: float, next_due: float | None
    ) -> None:
        def work() -> None:
            updated = self._conn.execute(
                "UPDATE followups SET attempts = attempts + 1, sent_at = ?, due_at = ?,"
                " claimed_by = NULL, claimed_until = NULL WHERE decision_id = ? AND claimed_by = ?",
                [now, next_due, decision_id, holder],
            ).rowcount
            if updated:
                self._conn.execute(
                    "UPDATE decisions SET followed_up_at = ?"
                    " WHERE id = ? AND followed_up_at IS NULL",
                    [now, decision_id],
                )

        await self._write(work)

    async def followup_failed(self, decision_id: int, holder: str, retry_at: float | None) -> None:
        await self._write(
            lambda: self._conn.execute(
                "UPDATE followups SET failures = failures + 1, due_at = ?, claimed_by = NULL,"
                " claimed_until = NULL WHERE decision_id = ? AND claimed_by = ?",
                [retry_at, decision_id, holder],
            )
        )

    async def ping(self) -> None:
        def work() -> None:
            if self._name == ":memory:":
                self._conn.execute("SELECT version FROM schema_version").fetchone()
                return
            self._still_there()
            _refuse_read_only(self._name)
            # A fresh read-only connection reads the file itself, not this connection's page
            # cache, so a damaged file is noticed.
            probe = sqlite3.connect(f"{Path(self._name).resolve().as_uri()}?mode=ro", uri=True)
            try:
                probe.execute("SELECT version FROM schema_version").fetchone()
            finally:
                probe.close()

        await self._run(work)

    async def backup(self, target: str | Path) -> None:
        """Copies the database, consistent, while it is in use (SQLite's online backup)."""

        def work() -> None:
            copy = sqlite3.connect(str(target))
            try:
                self._conn.backup(copy)
            finally:
                copy.close()

        await self._run(work)

    async def close(self) -> None:
        if self._checkpointing is not None:
            await self._checkpointing

        def shut() -> None:
            if self._turn_conn is not self._conn:
                self._turn_conn.close()
            self._conn.close()

        await self._run(shut)
        self._executor.shutdown(wait=True)
        self._turn_executor.shutdown(wait=True)


class _TurnBlock:
    """`async with storage.turn(key) as tx`: the store's write lock held for the block, the
    turn committed at its end, rolled back on an error. (A plain class: a generator-based
    context manager costs several times more, on every turn.)"""

    __slots__ = ("_key", "_store", "_turn")

    def __init__(self, store: SQLiteStorage, key: ConversationKey) -> None:
        self._store = store
        self._key = key
        self._turn: SQLiteTurn | None = None

    async def __aenter__(self) -> SQLiteTurn:
        store = self._store
        await store._write_lock.acquire()
        # The transaction begins with the turn's first call, in the same trip to the turn
        # thread (each trip costs more than the statements of a turn).
        self._turn = SQLiteTurn(store, store._turn_conn, self._key)
        return self._turn

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._turn is not None
        try:
            await self._store._finish(self._turn, failed=kind is not None)
        finally:
            self._store._write_lock.release()


class SQLiteTurn:
    """The Turn of SQLiteStorage: every call runs in the turn's open transaction.

    The state given to `save` (or `record_decision`) is the turn's last word: the engine
    changes it no further, so once the turn commits it is kept parsed for the next turn."""

    def __init__(self, store: SQLiteStorage, conn: sqlite3.Connection, key: ConversationKey):
        self._store = store
        self._conn = conn
        self._key = key
        self.begun = False
        # The text saved and the state it was dumped from, kept parsed after the commit.
        self.saved: tuple[str, ConversationState] | None = None

    async def _in_transaction(self, work: Callable[[], T]) -> T:
        """Runs `work` in the turn's transaction. The first call begins it: at once, where
        no other connection is writing (the usual case, and a trip to the turn thread and
        back costs more than the whole turn), else on the turn thread, where BEGIN IMMEDIATE
        waits for the other process's write."""
        store = self._store
        # On a file the turn's statements run right here (SQLiteStorage._in_turn), without
        # a coroutine per statement.
        here = store._turn_conn is not store._conn
        if self.begun:
            return store._on_loop(work) if here else await store._in_turn(work)
        conn = self._conn
        self.begun = True
        never_waits = store._turn_never_waits
        if here:
            if store._on_loop(lambda: _begin_without_waiting(conn, never_waits)):
                return store._on_loop(work)
        elif await store._in_turn(lambda: _begin_without_waiting(conn, never_waits)):
            return await store._in_turn(work)

        def begin_then_work() -> T:
            _begin_waiting(conn, never_waits)
            return work()

        return await store._run(begin_then_work, turn=True)

    async def load(self) -> ConversationState | None:
        text = await self._in_transaction(lambda: _load_state(self._conn, self._key))
        kept = self._store._take_parsed(self._key, text)
        if kept is not None or text is None:
            return kept
        return ConversationState.model_validate_json(text)

    async def save(self, state: ConversationState, *, keep_parsed: bool = True) -> None:
        payload = state.model_dump_json()
        self.saved = None
        await self._in_transaction(
            lambda: _upsert_conversation(self._conn, self._key, payload, state.updated_at)
        )
        self.saved = (payload, state) if keep_parsed else None

    async def record_decision(
        self, record: DecisionRecord, state: ConversationState, *, keep_parsed: bool = True
    ) -> int:
        row = _to_row(record)
        payload = state.model_dump_json()
        key = self._key
        self.saved = None

        def work() -> int:
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            cursor = self._conn.execute(
                f"INSERT INTO decisions ({columns}) VALUES ({marks})", list(row.values())
            )
            _upsert_conversation(self._conn, key, payload, state.updated_at)
            self._conn.execute(
                "INSERT INTO profiles (channel, user_id, last_department, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (channel, user_id) DO UPDATE SET"
                " last_department = excluded.last_department, updated_at = excluded.updated_at",
                [key.channel, key.user, record.department, record.created_at],
            )
            return int(cursor.lastrowid or 0)

        decision_id = await self._in_transaction(work)
        self.saved = (payload, state) if keep_parsed else None
        return decision_id

    async def last_department(self) -> str | None:
        return await self._in_transaction(lambda: _last_department(self._conn, self._key))

    async def last_decision(self) -> StoredDecision | None:
        rows = await self._in_transaction(lambda: _last_decision_rows(self._conn, self._key))
        return _from_row(rows[0]) if rows else None

    async def schedule_followup(self, decision_id: int, due_at: float, lang: str) -> None:
        key = self._key
        await self._in_transaction(
            lambda: self._conn.execute(
                "INSERT INTO followups (decision_id, channel, chat, user_id, lang, due_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (decision_id) DO NOTHING",
                [decision_id, key.channel, key.chat, key.user, lang, due_at],
            )
        )

    async def open_followup(self, decision_id: int | None = None) -> FollowUp | None:
        key = self._key
        sql = (
            "SELECT * FROM followups WHERE channel = ? AND chat = ? AND user_id = ?"
            " AND sent_at IS NOT NULL AND answered_at IS NULL"
        )
        params: list[Any] = [key.channel, key.chat, key.user]
        if decision_id is not None:
            sql += " AND decision_id = ?"
            params.append(decision_id)
        sql += " ORDER BY sent_at DESC, decision_id DESC LIMIT 1"
        rows = await self._in_transaction(lambda: _rows(self._conn, sql, params))
        return followup_of(rows[0]) if rows else None

    async def record_actual(self, decision_id: int, actual: str, now: float) -> bool:
        def work() -> bool:
            closed = self._conn.execute(
                "UPDATE followups SET answered_at = ?, due_at = NULL, claimed_by = NULL,"
                " claimed_until = NULL WHERE decision_id = ? AND answered_at IS NULL",
                [now, decision_id],
            ).rowcount
            if closed:
                self._conn.execute(
                    "UPDATE decisions SET actual_outcome = ?, actual_at = ? WHERE id = ?",
                    [actual, now, decision_id],
                )
            return bool(closed)

        return await self._in_transaction(work)


def _rows(conn: sqlite3.Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _begin_without_waiting(conn: sqlite3.Connection, never_waits: bool) -> bool:
    """BEGIN IMMEDIATE if the write lock is free now; False (nothing begun) if another
    connection holds it. `never_waits`: the connection's busy timeout is 0 already."""
    waits = not never_waits
    if waits:
        conn.execute("PRAGMA busy_timeout = 0")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            return False
        raise
    finally:
        if waits:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return True


def _begin_waiting(conn: sqlite3.Connection, never_waits: bool) -> None:
    """BEGIN IMMEDIATE, waiting up to BUSY_TIMEOUT_MS for another connection's write (on the
    turn thread), also on a connection that otherwise never waits."""
    if never_waits:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    finally:
        if never_waits:
            conn.execute("PRAGMA busy_timeout = 0")


def _journal_mode(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()


def _load_state(conn: sqlite3.Connection, key: ConversationKey) -> str | None:
    row = conn.execute(
        "SELECT state FROM conversations WHERE channel = ? AND chat = ? AND user_id = ?",
        [key.channel, key.chat, key.user],
    ).fetchone()
    return None if row is None else str(row[0])


def _last_department(conn: sqlite3.Connection, key: ConversationKey) -> str | None:
    row = conn.execute(
        "SELECT last_department FROM profiles WHERE channel = ? AND user_id = ?",
        [key.channel, key.user],
    ).fetchone()
    return None if row is None else row[0]


def _last_decision_rows(conn: sqlite3.Connection, key: ConversationKey) -> list[dict[str, Any]]:
    return _rows(
        conn,
        "SELECT * FROM decisions WHERE channel = ? AND user_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT 1",
        [key.channel, key.user],
    )


def _upsert_conversation(
    conn: sqlite3.Connection, key: ConversationKey, payload: str, updated_at: float
) -> None:
    conn.execute(
        "INSERT INTO conversations (channel, chat, user_id, state, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (channel, chat, user_id) DO UPDATE SET"
        " state = excluded.state, updated_at = excluded.updated_at",
        [key.channel, key.chat, key.user, payload, updated_at],
    )


def _identity(name: str) -> tuple[int, int] | None:
    """The file's device and inode, to notice it being deleted or replaced."""
    if name == ":memory:":
        return None
    try:
        info = os.stat(name)
    except FileNotFoundError:
        return (-1, -1)
    return (info.st_dev, info.st_ino)


def _refuse_read_only(name: str) -> None:
    """Raises if the database or its WAL/shared-memory files cannot be written. A read-only
    `-shm` is refused here rather than mapped: SQLite would take the server down with SIGBUS.
    The write bits are looked at too, since root may write where the mode says no."""
    for path in (name, f"{name}-wal", f"{name}-shm"):
        try:
            info = os.stat(path)
        except FileNotFoundError:
            continue
        if not os.access(path, os.W_OK) or not stat.S_IMODE(info.st_mode) & 0o222:
            raise sqlite3.OperationalError(f"attempt to write a readonly database ({path})")


def _explain(name: str, error: sqlite3.Error) -> str:
    message = str(error)
    if "not a database" in message or "malformed" in message:
        return f"The database {name} is corrupt or not a SQLite file; it was left untouched."
    if "readonly" in message or "read-only" in message:
        return f"The database {name} is read-only; Tripcheck needs to write to it."
    if "locked" in message or "busy" in message:
        return f"The database {name} is locked by another program; try again when it is free."
    if "unable to open" in message:
        return f"Cannot open the database {name}: check that its folder exists and is writable."
    return f"The database {name} cannot be used: {message}"
