"""`tripcheck decisions …`, `tripcheck stats` and `tripcheck admin add`: the log for admins."""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import sys
import time
from datetime import date
from typing import Any, TextIO

from bot.decision_log import DecisionFilter, Erasure, MonthStats
from bot.erasure import erasure_line, erasure_mark
from bot.export import DecisionWriter, csv_chunks, iso_time, stats_total, summary
from bot.passwords import hash_password
from bot.retention import cutoff
from bot.settings import Settings
from bot.storage import StorageError, StoredDecision
from storage import Backend, open_backend


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
        settings = settings.with_db(args.db)
    try:
        store = await open_backend(settings)
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
    store: Backend, args: argparse.Namespace, settings: Settings, out: TextIO
) -> int:
    log = store.decision_log
    command = args.decisions_command
    if command == "list":
        found = await log.query_decisions(filter_of(args), limit=args.limit)
        _write_decisions(found, args.format, out)
        return 0
    if command == "export" and args.format == "csv":
        async for chunk in csv_chunks(log.stream_export_rows(filter_of(args))):
            out.write(chunk)
        out.flush()
        return 0
    if command == "export":
        writer = DecisionWriter(args.format, out)
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
    key = settings.erasure_key.get_secret_value() if settings.erasure_key else None
    mark = erasure_mark(key, args.user) if key else None
    count = await log.erase_user(args.user, now, actor="cli", mark=mark)
    print(
        f"erased the user's identifiers from {count} decision(s), conversations and profile",
        file=out,
    )
    if mark is None:
        print(
            "tripcheck: TRIPCHECK_ERASURE_KEY is not set, so no mark was kept: restoring a"
            " backup older than this erasure brings the identifiers back (docs/operations.md)",
            file=sys.stderr,
        )
    else:
        # The mark is all that is needed to erase again after a restore: keep it with the case.
        print(erasure_line(Erasure(mark=mark, erased_at=now)), file=out)
    return 0


def _write_decisions(found: list[StoredDecision], fmt: str, out: TextIO) -> None:
    if fmt in ("csv", "json"):
        writer = DecisionWriter(fmt, out)
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
                iso_time(d.created_at)[:10],
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
        f"when: {iso_time(decision.created_at)}   channel: {decision.channel}"
        f"   role: {decision.role}   user: {decision.user_id or '(removed)'}"
        f"   language: {decision.lang}",
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
        f"  {iso_time(t['at'])}  {t.get('step') or '-'}: {t['in']!r}" for t in decision.transcript
    ]
    if reviews:
        lines += ["", "Reviews:"]
        lines += [
            f"  {iso_time(r['created_at'])} {r['reviewer']}: {r['verdict']} — {r['comment']}"
            for r in reviews
        ]
    out.write("\n".join(lines) + "\n")


async def _stats(store: Backend, where: DecisionFilter, fmt: str, out: TextIO) -> int:
    rows = await store.decision_log.stats(where)
    rows.append(stats_total(rows).with_followups_of(rows))
    # CO2e avoided as planned (the digital recommendations) and as confirmed by the
    # follow-ups (the meetings that did go digital), and how many follow-ups were answered.
    columns = [
        "month",
        "department",
        "total",
        "travel",
        "digital",
        "not_qualified",
        "share_digital",
        "avoided_kg",
        "asked",
        "answered",
        "confirmed_digital",
        "confirmed_avoided_kg",
    ]

    def values(row: MonthStats) -> list[Any]:
        data = {**row.model_dump(), "share_digital": round(row.share_digital, 3)}
        data["avoided_kg"] = round(row.avoided_kg, 1)
        data["confirmed_avoided_kg"] = round(row.confirmed_avoided_kg, 1)
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
        Console(file=out, width=180).print(table)
    return 0


async def _add_admin(store: Backend, args: argparse.Namespace) -> int:
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
