"""Benchmark: the decision log for admins on a large generated log.

Prints how long list, search, stats and a full CSV export take, and the export's peak
Python memory for two log sizes, to show it stays flat as the log grows.
Run: `.venv/bin/python bench/decision_log.py [--sizes 10000 50000]`, or on PostgreSQL:
`... --backend postgresql --url postgresql://user@host/empty_db` (the tables are emptied).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.decision_log import DecisionFilter, DecisionLog
from bot.export import DecisionWriter
from storage import open_url
from tests.decision_factory import build_log, generated_rows


class _Discard(io.TextIOBase):
    """A sink that counts characters, so the export is measured, not the buffer."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


async def export(log: DecisionLog) -> int:
    """Exports the whole log as CSV into a counting sink; returns the characters written."""
    sink = _Discard()
    exporter = DecisionWriter("csv", sink)  # type: ignore[arg-type]
    async for decision in log.stream_decisions(DecisionFilter()):
        exporter.write(decision)
    exporter.close()
    return sink.size


async def fill_postgres(url: str, size: int) -> None:
    """An emptied PostgreSQL database holding `size` generated decisions."""
    import psycopg

    await (await open_url(url)).close()
    rows = generated_rows(size)
    columns = list(rows[0])
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("TRUNCATE decisions, reviews")
        with cursor.copy(f"COPY decisions ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[column] for column in columns])


async def measure(url: str) -> None:
    store = await open_url(url)
    log = store.decision_log
    timings = {}
    started = time.perf_counter()
    await log.query_decisions(DecisionFilter(outcome="digital", channel="slack"), limit=50)
    timings["list (filtered, 50)"] = time.perf_counter() - started
    started = time.perf_counter()
    found = await log.count_decisions(DecisionFilter(search="studiebesök"))
    timings[f"full-text count ({found})"] = time.perf_counter() - started
    started = time.perf_counter()
    await log.stats(DecisionFilter())
    timings["stats, whole log"] = time.perf_counter() - started
    started = time.perf_counter()
    await export(log)
    timings["CSV export, whole log"] = time.perf_counter() - started
    # Measured in a second run: tracing slows Python down several times.
    tracemalloc.start()
    written = await export(log)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await store.close()
    for name, seconds in timings.items():
        print(f"  {name:32} {seconds * 1000:9.1f} ms")
    print(
        f"  {'CSV export peak Python memory':32} {peak / 1024 / 1024:9.1f} MB"
        f"   ({written / 1024 / 1024:.1f} MB written)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="an empty PostgreSQL database (for --backend postgresql)")
    args = parser.parse_args()
    if args.backend == "postgresql":
        if not args.url:
            parser.error("--backend postgresql needs --url postgresql://...")
        for size in args.sizes:
            asyncio.run(fill_postgres(args.url, size))
            print(f"decision log of {size:,} decisions (PostgreSQL):")
            asyncio.run(measure(args.url))
        return
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"log-{size}.db"
            build_log(path, size)
            print(f"decision log of {size:,} decisions:")
            asyncio.run(measure(f"sqlite:///{path}"))


if __name__ == "__main__":
    main()
