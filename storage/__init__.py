"""Storage backends behind the engine's ports (bot/storage.py, bot/decision_log.py).

`open_backend(settings)` picks one by TRIPCHECK_DATABASE_URL: `sqlite:///path` or
`postgresql://…`; when it is empty, the SQLite file TRIPCHECK_DB."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bot.decision_log import DecisionLog
from bot.settings import Settings
from bot.storage import Storage, StorageError


class Backend(Storage, Protocol):
    """One database: the engine's Storage, with the admin's DecisionLog on the same data."""

    @property
    def decision_log(self) -> DecisionLog:
        """The admin side of the same database."""
        ...


def database_url(settings: Settings) -> str:
    """The URL in use: TRIPCHECK_DATABASE_URL, else the SQLite file TRIPCHECK_DB."""
    return settings.database_url or f"sqlite:///{settings.db}"


def sqlite_path(url: str) -> str | None:
    """The file of a `sqlite:///path` URL (`sqlite:///:memory:` too), or None for others."""
    if not url.startswith("sqlite:"):
        return None
    path = url.removeprefix("sqlite:").removeprefix("//")
    # sqlite:///data/x.db is relative, sqlite:////var/x.db absolute (as SQLAlchemy reads them).
    return path.removeprefix("/") or ":memory:"


async def open_url(url: str) -> Backend:
    """Opens and migrates the database at `url`; StorageError if it cannot be used."""
    path = sqlite_path(url)
    if path is not None:
        from storage.sqlite.store import SQLiteStorage

        return await SQLiteStorage.open(Path(path) if path != ":memory:" else path)
    if url.startswith(("postgresql://", "postgres://")):
        from storage.postgres.store import PostgresStorage

        return await PostgresStorage.open(url)
    raise StorageError(
        "TRIPCHECK_DATABASE_URL must start with sqlite:/// or postgresql:// (it does not)."
    )


async def open_backend(settings: Settings) -> Backend:
    """The backend the settings choose, open and migrated."""
    return await open_url(database_url(settings))
