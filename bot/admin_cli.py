"""`tripcheck decisions …`, `tripcheck stats` and `tripcheck admin add`: the log for admins."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
import time
from datetime import UTC, date, datetime
from typing import Any, TextIO

from bot.decision_log import DecisionFilter, MonthStats
from bot.passwords import hash_password
from bot.retention import cutoff
from bot.settings import Settings
from bot.sqlite_store import SQLiteStorage
from bot.storage import StorageError, StoredDecision

CSV_COLUMNS = (
    "id",
    "created_at",
    "channel",
    "user_id",
    "role",
    "lang",
    "kind",
    "title",
    "department",
    "partner",
    "destination",
    "outcome",
    "focus_area",
    "advisories",
    "co2_distance_km",
    "co2_planned_mode",
    "co2_planned_kg",
    "co2_lowest_mode",
    "co2_avoided_kg",
    "rules_version",
)


def add_parsers(commands: Any) -> None:
    """Adds the admin subcommands to the `tripcheck` parser."""
    decisions = commands.add_parser("decisions", help="read and manage the decision log")
    actions = decisions.add_subparsers(dest="decisions_command", required=True)
    listing = actions.add_parser("list", help="decisions that match the filters")
    _filters(listing)
    listing.add_argument("--format", choices=["table", "csv", "json", "jsonl"], default="table")
    listing.add_argument("--limit", type=int, default=50)
    show = actions.add_parser("show", help="one decision in full")
    show.add_argument("id", type=int)
    export = actions.add_parser("export", help="every matching decision, streamed")
    _filters(export)
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    actions.add_parser("purge", help="apply the retention setting now")
    erase = actions.add_parser("erase", help="remove a person's identifiers (erasure request)")
    erase.add_argument("--user", required=True, help="the platform user id")
    for sub in (listing, show, export, erase, actions.choices["purge"]):
        sub.add_argument("--db", help="database file")

    stats = commands.add_parser("stats", help="per month and department: outcomes, CO2e avoided")
    _filters(stats)
    stats.add_argument("--format", choices=["table", "csv", "json"], default="table")
    stats.add_argument("--db", help="database file")

    admin = commands.add_parser("admin", help="web admin accounts")
    admin_actions = admin.add_subparsers(dest="admin_command", required=True)
    add = admin_actions.add_parser("add", help="create an account or set its password")
    add.add_argument("user")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--db", help="database file")


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=date.fromisoformat, help="YYYY-MM-DD (inclusive)")
    parser.add_argument("--until", type=date.fromisoformat, help="YYYY-MM-DD (inclusive)")
    parser.add_argument("--outcome", choices=["travel", "digital", "not_qualified"])
    parser.add_argument("--channel")
    parser.add_argument("--department")
    parser.add_argument("--partner")
    parser.add_argument(
        "--focus-area", choices=["regional_arctic", "eu", "twin_city", "business_region", "other"]
    )
    parser.add_argument("--search", help="words to find in titles, partners, places and answers")


def filter_of(args: argparse.Namespace) -> DecisionFilter:
    """The filter the command-line options describe."""
    return DecisionFilter(
        since=args.since,
        until=args.until,
        outcome=args.outcome,
        channel=args.channel,
        department=args.department,
        partner=args.partner,
        focus_area=args.focus_area,
        search=args.search,
    )


async def run(args: argparse.Namespace, settings: Settings, out: TextIO | None = None) -> int:
    """Runs one admin command; 0 on success, 1 for not found, 2 for unusable storage."""
    out = out or sys.stdout
    if getattr(args, "db", None):
        settings = settings.model_copy(update={"db": args.db})
    try:
        store = await SQLiteStorage.open(settings.db)
    except StorageError as error:
        print(f"tripcheck: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "stats":
            return await _stats(store, filter_of(args), args.format, out)
        if args.command == "admin":
            return await _add_admin(store, args)
        return await _decisions(store, args, settings, out)
    finally:
        await store.close()


async def _decisions(
    store: SQLiteStorage, args: argparse.Namespace, settings: Settings, out: TextIO
) -> int:
    log = store.decision_log
    command = args.decisions_command
    if command == "list":
        found = await log.query_decisions(filter_of(args), limit=args.limit)
        _write_decisions(found, args.format, out)
        return 0
    if command == "export":
        writer = _Exporter(args.format, out)
        async for decision in log.stream_decisions(filter_of(args)):
            writer.write(decision)
        writer.close()
        return 0
    if command == "show":
        shown = await store.get_decision(args.id)
        if shown is None:
            print(f"tripcheck: no decision {args.id}", file=sys.stderr)
            return 1
        _show(shown, [r.model_dump() for r in await log.reviews(args.id)], out)
        return 0
    now = time.time()
    if command == "purge":
        count = await log.purge_before(cutoff(now, settings.retention_months), now)
        print(
            f"purged personal identifiers from {count} decision(s) older than "
            f"{settings.retention_months} months",
            file=out,
        )
        return 0
    count = await log.erase_user(args.user, now, actor="cli")
    print(
        f"erased the user's identifiers from {count} decision(s), conversations and profile",
        file=out,
    )
    return 0


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def csv_row(decision: StoredDecision) -> list[Any]:
    """One decision as a CSV row in CSV_COLUMNS order."""
    co2 = decision.co2 or {}
    values = {
        **decision.model_dump(),
        "created_at": _iso(decision.created_at),
        "advisories": ";".join(a.get("code", "") for a in decision.advisories),
        "co2_distance_km": co2.get("distance_km"),
        "co2_planned_mode": co2.get("planned_mode"),
        "co2_planned_kg": co2.get("planned_kg"),
        "co2_lowest_mode": co2.get("lowest_reasonable_mode"),
        "co2_avoided_kg": co2.get("avoided_kg"),
    }
    return [_cell(values[c]) for c in CSV_COLUMNS]


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def summary(decision: StoredDecision) -> dict[str, Any]:
    """The fields a listing shows."""
    return dict(zip(CSV_COLUMNS, csv_row(decision), strict=True))


class _Exporter:
    """Writes decisions one at a time, so an export never holds the log in memory."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        self.fmt, self.out, self.count = fmt, out, 0
        if fmt == "csv":
            self.csv = csv.writer(out)
            self.csv.writerow(CSV_COLUMNS)
        else:
            out.write("[")

    def write(self, decision: StoredDecision) -> None:
        if self.fmt == "csv":
            self.csv.writerow(csv_row(decision))
        else:
            prefix = ",\n" if self.count else "\n"
            self.out.write(prefix + json.dumps(decision.model_dump(), ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        if self.fmt == "json":
            self.out.write("\n]\n" if self.count else "]\n")
        self.out.flush()


def _write_decisions(found: list[StoredDecision], fmt: str, out: TextIO) -> None:
    if fmt in ("csv", "json"):
        writer = _Exporter(fmt, out)
        for decision in found:
            writer.write(decision)
        writer.close()
    elif fmt == "jsonl":
        for decision in found:
            out.write(json.dumps(summary(decision), ensure_ascii=False) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table("id", "date", "channel", "department", "title", "outcome", "focus area")
        for d in found:
            table.add_row(
                str(d.id),
                _iso(d.created_at)[:10],
                d.channel,
                d.department,
                d.title,
                d.outcome,
                d.focus_area,
            )
        Console(file=out).print(table)


def _show(decision: StoredDecision, reviews: list[dict[str, Any]], out: TextIO) -> None:
    lines = [
        f"Decision {decision.id} — {decision.outcome} ({decision.focus_area})",
        f"when: {_iso(decision.created_at)}   channel: {decision.channel}   role: {decision.role}"
        f"   user: {decision.user_id or '(removed)'}   language: {decision.lang}",
        f"rules version: {decision.rules_version}",
        "",
        "Answers (as typed → as understood):",
    ]
    for field, answer in decision.answers.items():
        lines.append(f"  {field}: {answer.get('raw', '')!r} → {answer.get('label', '')}")
    for heading, items in (
        ("Reasons", decision.reasons),
        ("Advisories", decision.advisories),
        ("Guidelines", decision.guidelines),
    ):
        if items:
            lines += ["", f"{heading}:"]
            lines += [f"  [{i['code']}] {i['text']} ({i['section']})" for i in items]
    if decision.co2:
        lines += ["", "Climate: " + json.dumps(decision.co2, ensure_ascii=False)]
    lines += ["", "Transcript:"]
    lines += [
        f"  {_iso(t['at'])}  {t.get('step') or '-'}: {t['in']!r}" for t in decision.transcript
    ]
    if reviews:
        lines += ["", "Reviews:"]
        lines += [
            f"  {_iso(r['created_at'])} {r['reviewer']}: {r['verdict']} — {r['comment']}"
            for r in reviews
        ]
    out.write("\n".join(lines) + "\n")


def stats_total(rows: list[MonthStats]) -> MonthStats:
    """All rows added up (the month and department read "all")."""
    return MonthStats(
        month="all",
        department="all",
        total=sum(r.total for r in rows),
        travel=sum(r.travel for r in rows),
        digital=sum(r.digital for r in rows),
        not_qualified=sum(r.not_qualified for r in rows),
        avoided_kg=round(sum(r.avoided_kg for r in rows), 1),
    )


async def _stats(store: SQLiteStorage, where: DecisionFilter, fmt: str, out: TextIO) -> int:
    rows = await store.decision_log.stats(where)
    rows.append(stats_total(rows))
    columns = [
        "month",
        "department",
        "total",
        "travel",
        "digital",
        "not_qualified",
        "share_digital",
        "avoided_kg",
    ]

    def values(row: MonthStats) -> list[Any]:
        data = {**row.model_dump(), "share_digital": round(row.share_digital, 3)}
        data["avoided_kg"] = round(row.avoided_kg, 1)
        return [data[c] for c in columns]

    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(values(r) for r in rows)
    elif fmt == "json":
        out.write(json.dumps([dict(zip(columns, values(r), strict=True)) for r in rows]) + "\n")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(*columns, title="Decisions per month and department")
        for row in rows:
            table.add_row(
                *(
                    f"{v:.0%}" if c == "share_digital" else str(v)
                    for c, v in zip(columns, values(row), strict=True)
                )
            )
        Console(file=out, width=140).print(table)
    return 0


async def _add_admin(store: SQLiteStorage, args: argparse.Namespace) -> int:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"Password for {args.user}: ")
        if getpass.getpass("Again: ") != password:
            print("tripcheck: the passwords differ", file=sys.stderr)
            return 1
    if len(password) < 12:
        print("tripcheck: use a password of at least 12 characters", file=sys.stderr)
        return 1
    await store.decision_log.save_admin(args.user, hash_password(password), time.time())
    print(f"admin {args.user} saved")
    return 0
