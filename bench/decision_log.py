"""Benchmark: the decision log for admins on a large generated log.

Prints how long list, search, stats and a full CSV export take, and the export's peak
Python memory for two log sizes, to show it stays flat as the log grows.
Run: `.venv/bin/python bench/decision_log.py [--sizes 10000 50000]`.
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

from bot.decision_log import DecisionFilter
from bot.export import DecisionWriter
from storage.sqlite.log import SQLiteDecisionLog
from storage.sqlite.store import SQLiteStorage
from tests.decision_factory import build_log


class _Discard(io.TextIOBase):
    """A sink that counts characters, so the export is measured, not the buffer."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


async def export(log: SQLiteDecisionLog) -> int:
    """Exports the whole log as CSV into a counting sink; returns the characters written."""
    sink = _Discard()
    exporter = DecisionWriter("csv", sink)  # type: ignore[arg-type]
    async for decision in log.stream_decisions(DecisionFilter()):
        exporter.write(decision)
    exporter.close()
    return sink.size


async def measure(path: Path) -> None:
    store = await SQLiteStorage.open(path)
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            path = Path(folder) / f"log-{size}.db"
            build_log(path, size)
            print(f"decision log of {size:,} decisions:")
            asyncio.run(measure(path))


if __name__ == "__main__":
    main()
