"""`tripcheck db migrate|backup|erasures|reapply-erasures`: the database for its operators
(docs/operations.md: backing up, restoring, and erasures made after the backup)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bot.decision_log import Erasure
from bot.erasure import ErasureListError, erasure_line, parse_erasures, reapply_erasures
from bot.settings import Settings
from bot.storage import StorageError
from storage import Backend, database_url, open_backend, sqlite_path


def add_parsers(commands: Any) -> None:
    """Adds `db` and its subcommands to the `tripcheck` parser."""
    db = commands.add_parser("db", help="migrate, back up or restore the database")
    actions = db.add_subparsers(dest="db_command", required=True)
    migrate = actions.add_parser("migrate", help="bring the schema up to date (safe to repeat)")
    backup = actions.add_parser("backup", help="copy the SQLite database while it is in use")
    backup.add_argument("path", type=Path, help="the copy to write (must not exist)")
    erasures = actions.add_parser(
        "erasures", help="list the erasures kept (keyed hashes, one JSON line each)"
    )
    reapply = actions.add_parser(
        "reapply-erasures", help="erase again, after a restore, the people of erasure lists"
    )
    reapply.add_argument(
        "lists",
        nargs="+",
        type=Path,
        help="files of `tripcheck db erasures` lines, erase output or the JSON log",
    )
    for sub in (migrate, backup, erasures, reapply):
        sub.add_argument("--db", help="SQLite database file (instead of the settings)")


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Runs one `db` command; 0 on success, 1 for a refused request, 2 for unusable storage."""
    if args.db:
        settings = settings.with_db(Path(args.db))
    refused = _refusal(args, settings)
    if refused:
        print(f"tripcheck: {refused}", file=sys.stderr)
        return 1
    try:
        # Opening migrates, under the backend's lock, so concurrent starts are safe.
        store = await open_backend(settings)
    except StorageError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    try:
        return await _run(args, settings, store)
    except StorageError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    finally:
        await store.close()


def _refusal(args: argparse.Namespace, settings: Settings) -> str | None:
    """Why the command cannot run as asked, before the database is opened."""
    if args.db_command == "backup":
        if sqlite_path(database_url(settings)) is None:
            return "db backup copies SQLite files; back up PostgreSQL with pg_dump"
        if args.path.exists():
            return f"{args.path} exists; choose a new file"
    if args.db_command == "reapply-erasures" and settings.erasure_key is None:
        return "set TRIPCHECK_ERASURE_KEY to the key the erasures were made with"
    return None


async def _run(args: argparse.Namespace, settings: Settings, store: Backend) -> int:
    if args.db_command == "backup":
        backup = getattr(store, "backup")  # noqa: B009 - only the SQLite backend has it
        await backup(args.path)
        print(f"backed up to {args.path}")
    elif args.db_command == "erasures":
        for erasure in await store.decision_log.erasures():
            print(erasure_line(erasure))
    elif args.db_command == "reapply-erasures":
        assert settings.erasure_key is not None
        now = time.time()
        try:
            # Every list is read before anything is changed.
            erasures = _read_lists(args.lists, now)
        except ErasureListError as error:
            print(f"tripcheck: {error}", file=sys.stderr)
            return 1
        key = settings.erasure_key.get_secret_value()
        done = await reapply_erasures(store.decision_log, key, erasures, now)
        print(
            f"{len(erasures)} erasure(s) read; erased {done.users} user(s) again, "
            f"from {done.decisions} decision(s)"
        )
    else:
        print("the database schema is up to date")
    return 0


def _read_lists(paths: list[Path], now: float) -> list[Erasure]:
    """The erasures of every list; ErasureListError names the file and line at fault."""
    found: list[Erasure] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ErasureListError(f"{path}: cannot read the list: {error}") from error
        try:
            found.extend(parse_erasures(text, now))
        except ErasureListError as error:
            raise ErasureListError(f"{path}: {error}") from None
    return found
