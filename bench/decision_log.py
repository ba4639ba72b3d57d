"""Benchmark: the decision log for admins on a large generated log.

Prints how long building the log (bulk SQL inserts, triggers included), a filtered list,
a full-text count, the whole-log stats and a full CSV export take, the export's rows/s beside
the `sqlite3 -csv` CLI's on the same table (the floor), and the export's peak Python memory,
for each size, to show it stays flat as the log grows.
Run: `.venv/bin/python bench/decision_log.py [--sizes 100000 1000000]`; on PostgreSQL:
`... --backend postgresql` (a throwaway server from tests/pg_server.py) or
`--backend postgresql --url postgresql://user@host/empty_db` (the tables are emptied).
"""

from __future__ import annotations

# ruff: noqa: E402 (the path is fixed before the imports)
import sys

# bench/http.py is named like the standard library's http package: run as a script, this
# folder comes first on the path and would shadow it.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import asyncio
import shutil
import sqlite3
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.summary import Summary
from bot.decision_log import DecisionFilter, DecisionLog
from bot.export import csv_chunks
from storage import open_url
from storage.sqlite.store import SQLiteStorage
from tests.decision_factory import generated_rows

# Rows generated and inserted at a time, so that building a million stays in bounded memory.
CHUNK = 20_000
# Targets of issue 16.
LIST_TARGET_MS = 10
COUNT_TARGET_MS = 50
STATS_TARGET_MS = 50
EXPORT_FLOOR_SHARE = 0.5


async def export(log: DecisionLog) -> int:
    """Exports the whole log as CSV, as the admin page streams it; returns the characters."""
    written = 0
    async for chunk in csv_chunks(log.stream_export_rows(DecisionFilter())):
        written += len(chunk)
    return written


def chunks(size: int) -> list[int]:
    return [min(CHUNK, size - start) for start in range(0, size, CHUNK)]


def fill_sqlite(path: Path, size: int) -> float:
    """A new SQLite log of `size` generated decisions, inserted in SQL; returns seconds."""

    async def create() -> None:
        await (await SQLiteStorage.open(path)).close()

    asyncio.run(create())
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    for seed, count in enumerate(chunks(size)):
        rows = generated_rows(count, seed=seed)
        columns = list(rows[0])
        conn.executemany(
            f"INSERT INTO decisions ({', '.join(columns)})"
            f" VALUES ({', '.join('?' * len(columns))})",
            [[row[column] for column in columns] for row in rows],
        )
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def fill_postgres(url: str, size: int) -> float:
    """An emptied PostgreSQL database holding `size` generated decisions; returns seconds."""
    import psycopg

    asyncio.run(_migrate(url))
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(
            "TRUNCATE decisions, reviews, followups, decision_month_stats, decision_search_terms"
        )
        for seed, count in enumerate(chunks(size)):
            rows = generated_rows(count, seed=seed)
            columns = list(rows[0])
            with cursor.copy(f"COPY decisions ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[column] for column in columns])
    # As autovacuum does after a bulk insert: the visibility map set and the GIN index's
    # pending list merged, so the planner takes the full-text index (with only ANALYZE, a
    # freshly loaded table is scanned); the search-term runs' old row versions gone.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) decisions, decision_search_terms")
    return time.perf_counter() - started


async def _migrate(url: str) -> None:
    await (await open_url(url)).close()


def cli_export_seconds(path: Path) -> Callable[[], float] | None:
    """The `sqlite3 -csv` CLI exporting the whole table to nowhere: the floor."""
    cli = shutil.which("sqlite3")
    if cli is None:
        return None

    def run() -> float:
        started = time.perf_counter()
        subprocess.run(
            [cli, "-csv", "-header", str(path), "SELECT * FROM decisions"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - started

    return run


def postgres_copy_seconds(url: str) -> Callable[[], float]:
    """PostgreSQL's own CSV writer (COPY ... TO STDOUT) over the whole table, read and
    dropped: the floor on PostgreSQL, as `sqlite3 -csv` is on SQLite."""
    import psycopg

    def run() -> float:
        started = time.perf_counter()
        with psycopg.connect(url) as conn, conn.cursor() as cursor:
            sql = "COPY (SELECT * FROM decisions) TO STDOUT (FORMAT csv, HEADER)"
            with cursor.copy(sql) as copy:
                for _ in copy:
                    pass
        return time.perf_counter() - started

    return run


def best_ms(samples: list[float]) -> float:
    return min(samples) * 1000


def verdict(value: float, target: float) -> str:
    return "meets" if value < target else "MISSES"


SUMMARY = Summary()


async def measure(
    url: str, label: str, size: int, floor: Callable[[], float] | None, repeats: int
) -> None:
    store = await open_url(url)
    log = store.decision_log
    # Each query runs `repeats` times and the best is shown: the machine is shared.
    lists, counts, stats = [], [], []
    found = 0
    for _ in range(repeats):
        started = time.perf_counter()
        await log.query_decisions(DecisionFilter(outcome="digital", channel="slack"), limit=50)
        lists.append(time.perf_counter() - started)
        started = time.perf_counter()
        found = await log.count_decisions(DecisionFilter(search="studiebesök"))
        counts.append(time.perf_counter() - started)
        started = time.perf_counter()
        await log.stats(DecisionFilter())
        stats.append(time.perf_counter() - started)
    # The export and its floor run alternately, the best of each kept: a busy machine
    # slows both alike.
    exports, floors = [], []
    for _ in range(max(1, min(repeats, 3))):
        started = time.perf_counter()
        await export(log)
        exports.append(time.perf_counter() - started)
        if floor is not None:
            floors.append(floor())
    # Measured in a second run: tracing slows Python down several times.
    tracemalloc.start()
    written = await export(log)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await store.close()
    rows = [
        ("list (filtered, 50)", best_ms(lists), LIST_TARGET_MS),
        (f"full-text count ({found:,})", best_ms(counts), COUNT_TARGET_MS),
        ("stats, whole log", best_ms(stats), STATS_TARGET_MS),
    ]
    for name, ms, target in rows:
        print(f"  {name:32} {ms:9.1f} ms   target < {target} ms: {verdict(ms, target)}")
        SUMMARY.add(f"{label} {name.split(' (')[0]}", f"{ms:.1f} ms", f"< {target} ms", ms < target)
    export_seconds = min(exports)
    rate = size / export_seconds
    print(f"  {'CSV export, whole log':32} {export_seconds * 1000:9.1f} ms   ({rate:,.0f} rows/s)")
    if floors:
        floor_seconds = min(floors)
        floor_rate = size / floor_seconds
        share = rate / floor_rate
        name = "sqlite3 -csv" if "sqlite" in label.lower() else "COPY ... csv"
        print(
            f"  {name + ', same table (floor)':32} {floor_seconds * 1000:9.1f} ms"
            f"   ({floor_rate:,.0f} rows/s); export/floor {share:.2f},"
            f" target >= {EXPORT_FLOOR_SHARE}: {verdict(EXPORT_FLOOR_SHARE, share + 1e-12)}"
        )
        SUMMARY.add(
            f"{label} CSV export/floor",
            f"{share:.2f} ({rate:,.0f} vs {floor_rate:,.0f} rows/s)",
            f">= {EXPORT_FLOOR_SHARE}",
            share >= EXPORT_FLOOR_SHARE,
        )
    print(
        f"  {'CSV export peak Python memory':32} {peak / 1024 / 1024:9.1f} MB"
        f"   ({written / 1024 / 1024:.1f} MB written)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each query (best shown)")
    args = parser.parse_args()
    if args.backend == "postgresql":
        if args.url:
            run_postgres(args.url, args.sizes, args.repeats)
            return
        from tests.pg_server import PostgresServer, binaries

        bin_dir = binaries()
        if bin_dir is None:
            parser.error("no PostgreSQL binaries (initdb) found: give --url postgresql://...")
        server = PostgresServer(bin_dir)
        server.start()
        try:
            run_postgres(server.new_database(), args.sizes, args.repeats)
        finally:
            server.stop()
        return
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"log-{size}.db"
            built = fill_sqlite(path, size)
            print(f"decision log of {size:,} decisions (SQLite), built in {built:.1f} s:")
            label = f"SQLite {size:,}"
            floor = cli_export_seconds(path)
            asyncio.run(measure(f"sqlite:///{path}", label, size, floor, args.repeats))
            path.unlink()
    SUMMARY.print()


def run_postgres(url: str, sizes: list[int], repeats: int) -> None:
    for size in sizes:
        built = fill_postgres(url, size)
        print(f"decision log of {size:,} decisions (PostgreSQL), built in {built:.1f} s:")
        label = f"PostgreSQL {size:,}"
        asyncio.run(measure(url, label, size, postgres_copy_seconds(url), repeats))
    SUMMARY.print()


if __name__ == "__main__":
    main()
