"""The `tripcheck` command: chat, evaluate a batch file, check a rule set."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import importlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.batch import TABLE_COLUMNS, BatchFileError, RowResult, evaluate_file, table
from bot.messages import ConversationKey
from bot.settings import Settings
from bot.storage import StorageError
from rules.answers import Interpreter
from rules.loader import RuleSetError, load_ruleset
from rules.models import Lang
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from tripcheck import admin_cli, db_cli


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tripcheck",
        description="Checks trips against Luleå kommun's plan for international work 2024–2027.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    chat = commands.add_parser("chat", help="check a trip in the terminal")
    chat.add_argument("--lang", choices=["sv", "en"], help="language of a new conversation")
    chat.add_argument(
        "--db", type=Path, help="database file (default: $TRIPCHECK_DB or data/tripcheck.db)"
    )
    chat.add_argument("--user", help="who is chatting (default: your login name)")
    mode = chat.add_mutually_exclusive_group()
    mode.add_argument("--jsonl", action="store_true", help="JSON lines in and out (for automation)")
    mode.add_argument("--plain", action="store_true", help="plain lines even in a terminal")

    evaluate = commands.add_parser("evaluate", help="evaluate a YAML or CSV file of checks")
    evaluate.add_argument("file", type=Path)
    evaluate.add_argument("--format", choices=["table", "jsonl"], default="table")
    evaluate.add_argument("--lang", choices=["sv", "en"], default="en")

    serve = commands.add_parser("serve", help="run the HTTP server for every channel")
    serve.add_argument("--host", help="address to listen on (default: $TRIPCHECK_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default: $PORT or 8000)")
    serve.add_argument("--db", type=Path, help="database file")

    telegram = commands.add_parser("telegram", help="the Telegram bot outside the server")
    telegram.add_argument("--polling", action="store_true", help="run by long polling")
    telegram.add_argument("--db", type=Path, help="database file")
    telegram_commands = telegram.add_subparsers(dest="telegram_command")
    webhook = telegram_commands.add_parser("set-webhook", help="register the webhook URL")
    webhook.add_argument("url", help="public https URL ending in /telegram/webhook")

    teams = commands.add_parser("teams-package", help="write the Teams app package (zip)")
    teams.add_argument("--output", type=Path, default=Path("tripcheck-teams.zip"))

    admin_cli.add_parsers(commands)
    db_cli.add_parsers(commands)

    rules = commands.add_parser("rules", help="work with the rule set")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True)
    check = rules_commands.add_parser("check", help="validate a rule-set directory")
    check.add_argument("dir", nargs="?", type=Path, help="default: the shipped rule set")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tripcheck` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as error:
        print(f"tripcheck: invalid setting: {error}", file=sys.stderr)
        return 2
    if args.command == "chat":
        return asyncio.run(_chat(args, settings))
    if args.command == "serve":
        from tripcheck.server import run_serving

        return run_serving(_serve(args, settings))
    if args.command == "db":
        return asyncio.run(db_cli.run(args, settings))
    if args.command in ("decisions", "stats", "admin"):
        try:
            return asyncio.run(admin_cli.run(args, settings))
        except BrokenPipeError:
            return _reader_left()
    if args.command == "telegram":
        telegram_cli = importlib.import_module("tripcheck.telegram_cli")
        return int(asyncio.run(telegram_cli.run_command(args, settings)))
    if args.command == "teams-package":
        teams_channel = importlib.import_module("adapters.teams")
        return int(teams_channel.write_package(args.output, settings))
    if args.command == "evaluate":
        try:
            return _evaluate(args, settings)
        except BrokenPipeError:
            return _reader_left()
    return _rules_check(args.dir)


def _reader_left() -> int:
    """The reader of our output (e.g. `| head`) stopped early: not an error worth a
    traceback. Output goes to /dev/null from now on, so the flush at exit is quiet too."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


async def _chat(args: argparse.Namespace, settings: Settings) -> int:
    if args.db is not None:
        settings = settings.with_db(args.db)
    lang: Lang | None = args.lang or None
    if args.jsonl:
        from adapters import jsonl

        jsonl.use_utf8_streams()
    # The engine's parts (storage, metrics) are imported only by the commands that run it.
    from tripcheck.app import open_engine

    try:
        engine = await open_engine(settings)
    except (StorageError, RuleSetError) as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        if args.jsonl:
            print(json.dumps({"type": "error", "text": str(error)}, ensure_ascii=False))
        return 2
    user = args.user or _login_name()
    key = ConversationKey("terminal", user, user)
    try:
        if args.jsonl:
            await jsonl.run(engine, key, lang)
        elif args.plain or not sys.stdin.isatty():
            from adapters import terminal

            await terminal.run_plain(engine, key, lang)
        else:
            from adapters import terminal

            await terminal.run_interactive(engine, key, lang)
    except KeyboardInterrupt:
        pass
    finally:
        await engine.storage.close()
    return 0


async def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import logs
    from tripcheck.app import open_engine
    from tripcheck.server import serve

    updates = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v}
    settings = settings.model_copy(update=updates)
    if args.db:
        settings = settings.with_db(args.db)
    logs.configure(settings.log_level)
    try:
        engine = await open_engine(settings)
    except (StorageError, RuleSetError) as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    await serve(settings, engine)
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _evaluate(args: argparse.Namespace, settings: Settings) -> int:
    try:
        rules = load_ruleset(settings.rules_dir)
    except RuleSetError as error:
        print(f"tripcheck: the rule set is invalid:\n{error}", file=sys.stderr)
        return 2
    interpreter = Interpreter(rules, PlaceIndex.load(settings.place_cache_dir()))
    try:
        results = list(evaluate_file(args.file, interpreter, args.lang))
    except BatchFileError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    for result in results:
        for problem in result.errors:
            print(f"{args.file}: row {result.row} ({result.id}): {problem}", file=sys.stderr)
        for note in result.notes:
            print(f"{args.file}: row {result.row} ({result.id}): note: {note}", file=sys.stderr)
    if args.format == "jsonl":
        for result in results:
            print(json.dumps(_row_json(result), ensure_ascii=False))
    else:
        _print_table(results, rules, args.lang)
    return 1 if any(r.errors for r in results) else 0


def _row_json(result: RowResult) -> dict[str, object]:
    if result.decision is None:
        return {"id": result.id, "row": result.row, "error": result.errors}
    decision = result.decision.model_dump(mode="json", exclude={"id"})
    return {"id": result.id, "row": result.row, **decision}


def _print_table(results: list[RowResult], rules: RuleSet, lang: Lang) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    headings, *rows = table(results, rules, lang)
    # Folded rather than cut off with an ellipsis: every word stays readable.
    shown = Table(show_lines=True)
    for heading in headings:
        shown.add_column(heading, overflow="fold")
    for result, row in zip(results, rows, strict=True):
        # What a batch file says is shown as written, never read as rich markup.
        cells = [escape(cell) for cell in row]
        if result.decision is None:
            outcome = TABLE_COLUMNS.index("outcome")
            cells[outcome] = f"[red]{cells[outcome]}[/red]"
        shown.add_row(*cells)
    Console().print(shown)


def _rules_check(directory: Path | None) -> int:
    try:
        rules = load_ruleset(directory)
    except RuleSetError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) found", file=sys.stderr)
        return 1
    print(
        f"rule set {rules.version}: {len(rules.partners)} partners, "
        f"{len(rules.texts['sv'])} texts in sv and en: valid"
    )
    return 0
