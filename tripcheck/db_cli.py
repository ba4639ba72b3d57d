"""`tripcheck db migrate` and `tripcheck db backup PATH`: the database for its operators."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.settings import Settings
from bot.storage import StorageError
from storage import database_url, open_backend, sqlite_path


def add_parsers(commands: Any) -> None:
    """Adds `db` and its subcommands to the `tripcheck` parser."""
    db = commands.add_parser("db", help="migrate or back up the database")
    actions = db.add_subparsers(dest="db_command", required=True)
    migrate = actions.add_parser("migrate", help="bring the schema up to date (safe to repeat)")
    backup = actions.add_parser("backup", help="copy the SQLite database while it is in use")
    backup.add_argument("path", type=Path, help="the copy to write (must not exist)")
    for sub in (migrate, backup):
        sub.add_argument("--db", help="SQLite database file (instead of the settings)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Runs one `db` command; 0 on success, 1 for a refused request, 2 for unusable storage."""
    if args.db:
        settings = settings.with_db(Path(args.db))
    if args.db_command == "backup":
        if sqlite_path(database_url(settings)) is None:
            print(
                "tripcheck: db backup copies SQLite files; back up PostgreSQL with pg_dump",
                file=sys.stderr,
            )
            return 1
        if args.path.exists():
            print(f"tripcheck: {args.path} exists; choose a new file", file=sys.stderr)
            return 1
    try:
        # Opening migrates, under the backend's lock, so concurrent starts are safe.
        store = await open_backend(settings)
    except StorageError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    try:
        if args.db_command == "backup":
            backup = getattr(store, "backup")  # noqa: B009 - only the SQLite backend has it
            await backup(args.path)
            print(f"backed up to {args.path}")
        else:
            print("the database schema is up to date")
    except StorageError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    finally:
        await store.close()
    return 0
