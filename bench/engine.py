"""Benchmark: whole checks through the engine, on a SQLite file or on PostgreSQL.

Prints turns per second, p50/p99/max latency of one turn (state write included) and peak
memory. Run with `make bench` or `.venv/bin/python bench/engine.py [--checks N]`; on
PostgreSQL with `--backend postgresql` (a throwaway server) or `--database-url` (an empty
database).
"""

from __future__ import annotations

# ruff: noqa: E402 (the path is fixed before the imports)
import sys

# bench/http.py is named like the standard library's http package: run as a script, this
# folder comes first on the path and would shadow it.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import asyncio
import contextlib
import gc
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.summary import Summary
from bot.engine import Engine
from bot.messages import ConversationKey, Incoming
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from storage import open_url

# Targets of issue 16, per turn.
P50_TARGET_MS = 0.3
P99_TARGET_MS = 1.5

# Whole checks as the dialogue asks them now: the date typed at the summary (optional
# there), the tick list of preparations answered in one message, the summary saved.
SCRIPTS = [
    [
        "hej",
        "resa",
        "Styrelsemöte",
        "Kommunstaben",
        "bottenviksbagen",
        "Uleåborg",
        "ja",
        "8",
        "nej",
        "ja",
        "2",
        "flyg",
        "alla",
        "12 mars",  # the date, typed at the summary
        "spara",
    ],
    [
        "hello",
        "trip",
        "Study visit",
        "Arbetsmarknadsförvaltningen",
        "SERN",
        "Bologna",
        "yes",
        "9, 2",
        "yes",
        "3",
        "flight",
        "all",
        "in May",
        "save",
    ],
    [
        "hej",
        "projekt",
        "Interreg",
        "LBR",
        "Bothnian Coastal Route",
        "Vasa",
        "ja",
        "klimat, tillväxt",
        "vet inte",
        "nej",
        "1",
        "bil",
        "3",  # of equality, EU funds and the annual plan: only the plan
        "spara",
    ],
]


async def main(checks: int, places_cache: Path, database_url: str) -> None:
    rules = load_ruleset()
    started = time.perf_counter()
    places = PlaceIndex.load(places_cache)
    print(f"place index loaded in {time.perf_counter() - started:.2f} s")
    print(f"storage: {'SQLite file' if database_url.startswith('sqlite:') else 'PostgreSQL'}")
    storage = await open_url(database_url)
    engine = Engine(rules, storage, places=places)
    latencies: list[float] = []
    saves: list[float] = []
    decisions = 0
    gc.collect()
    began = time.perf_counter()
    for n in range(checks):
        key = ConversationKey("bench", f"u{n % 500}", f"u{n % 500}")
        for text in SCRIPTS[n % len(SCRIPTS)]:
            t0 = time.perf_counter()
            replies = (await engine.handle(key, Incoming(text=text))).replies
            latencies.append(time.perf_counter() - t0)
            if any(r.type == "decision" for r in replies):
                decisions += 1
                saves.append(latencies[-1])
    elapsed = time.perf_counter() - began
    await storage.close()
    ms = sorted(x * 1000 for x in latencies)
    save_ms = sorted(x * 1000 for x in saves) or [0.0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p50, p99 = statistics.median(ms), ms[int(len(ms) * 0.99)]
    print(f"checks: {checks}, decisions recorded: {decisions}, turns: {len(ms)}")
    print(f"turns per second: {len(ms) / elapsed:,.0f}")
    print(f"turn latency ms: p50 {p50:.3f}  p99 {p99:.3f}  max {ms[-1]:.3f}")
    print(
        f"save turn ms:    p50 {statistics.median(save_ms):.3f}"
        f"  p99 {save_ms[int(len(save_ms) * 0.99)]:.3f}  max {save_ms[-1]:.3f}"
    )
    print(
        f"targets: p50 < {P50_TARGET_MS} ms {'meets' if p50 < P50_TARGET_MS else 'MISSES'},"
        f" p99 < {P99_TARGET_MS} ms {'meets' if p99 < P99_TARGET_MS else 'MISSES'}"
    )
    print(f"peak memory (max RSS, place index included): {peak_mb:,.0f} MB")
    summary = Summary()
    summary.add("engine turn p50", f"{p50:.3f} ms", f"< {P50_TARGET_MS} ms", p50 < P50_TARGET_MS)
    summary.add("engine turn p99", f"{p99:.3f} ms", f"< {P99_TARGET_MS} ms", p99 < P99_TARGET_MS)
    summary.print()


@contextlib.contextmanager
def database(backend: str, given: str | None) -> Iterator[str]:
    """The URL given, a SQLite file in a temporary folder, or a throwaway PostgreSQL."""
    if given:
        yield given
    elif backend == "postgresql":
        from tests.pg_server import throwaway_database

        with throwaway_database() as url:
            yield url
    else:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=3000)
    parser.add_argument("--places-cache", type=Path, default=Path("data"))
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--database-url", help="sqlite:///path or an empty postgresql://... (overrides --backend)"
    )
    args = parser.parse_args()
    with database(args.backend, args.database_url) as url:
        asyncio.run(main(args.checks, args.places_cache, url))
