"""Storage faults while running: a clear StorageError (never a crash, never a decision
acknowledged that is not on disk), and a ping that fails so /readyz says 503."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bot.state import ConversationState
from bot.storage import StorageError
from storage import open_url
from storage.sqlite.store import SQLiteStorage
from tests.pg_server import PostgresServer
from tests.test_storage import KEY, record


async def test_a_database_deleted_while_running_acknowledges_nothing(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    await store.record_decision(KEY, record(1.0), ConversationState(lang="sv"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with pytest.raises(StorageError, match="deleted or replaced"):
        await store.record_decision(KEY, record(2.0), ConversationState(lang="sv"))
    with pytest.raises(StorageError):
        await store.ping()
    await store.close()


async def test_a_database_replaced_while_running_is_noticed(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    shutil.copy(db, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", db)
    with pytest.raises(StorageError, match="deleted or replaced"):
        await store.save_conversation(KEY, ConversationState(lang="sv"))
    await store.close()


@pytest.mark.parametrize("suffix", ["", "-shm", "-wal"])
async def test_a_read_only_file_fails_the_ping(tmp_path: Path, suffix: str) -> None:
    db = tmp_path / "tripcheck.db"
    store = await SQLiteStorage.open(db)
    await store.save_conversation(KEY, ConversationState(lang="sv"))
    await store.ping()
    path = Path(f"{db}{suffix}")
    assert path.exists()
    path.chmod(0o444)
    with pytest.raises(StorageError, match="read-only"):
        await store.ping()
    path.chmod(0o644)
    await store.close()


def test_a_read_only_shm_is_refused_at_start_not_a_sigbus(tmp_path: Path) -> None:
    db = tmp_path / "tripcheck.db"
    probe = (
        "import asyncio, sys\n"
        "from storage.sqlite.store import SQLiteStorage\n"
        "from bot.storage import StorageError\n"
        "async def main():\n"
        "    try:\n"
        f"        await SQLiteStorage.open({str(db)!r})\n"
        "    except StorageError as error:\n"
        "        print('refused:', error)\n"
        "        sys.exit(3)\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", probe.replace("sys.exit(3)", "raise")], check=True)
    Path(f"{db}-shm").write_bytes(b"")
    Path(f"{db}-shm").chmod(0o444)
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.returncode == 3, run  # a clean refusal, not -SIGBUS
    assert "read-only" in run.stdout


@pytest.mark.postgres
async def test_a_missing_postgresql_database_is_a_clear_storage_error(
    postgres_server: PostgresServer,
) -> None:
    with pytest.raises(StorageError, match="does not exist") as raised:
        await open_url(postgres_server.url("no_such_database"))
    assert "password" not in str(raised.value)


@pytest.mark.postgres
async def test_a_read_only_postgresql_database_is_refused(postgres_url: str) -> None:
    store = await open_url(postgres_url)
    await store.ping()
    await store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        conn.execute(f'ALTER DATABASE "{name[0]}" SET default_transaction_read_only = on')
    # New connections see the setting: start-up (which migrates) and ping both refuse.
    with pytest.raises(StorageError, match="read-only"):
        await open_url(postgres_url)
