"""Benchmark: two `tripcheck serve` processes on one database under load, nothing lost,
nothing twice.

Starts a throwaway PostgreSQL server (`--backend postgresql`, the default; or `--url` an empty
database) or uses one SQLite file (`--backend sqlite`), then two servers on it. `--senders`
senders do `--checks` whole checks over REST, each check's turns split across both servers.
`--kill-after N` kills one server (SIGKILL) once N turns were acknowledged; the checks it was
serving are abandoned (each then gets one more message, on the other), the rest go on there.

Prints turns/s, p50/p99 latency of an acknowledged turn, and the lost and duplicate counts:
lost = acknowledged turns missing from the conversation's or decision's transcript, plus
acknowledged decisions missing from the log; duplicate = checks with more than one decision.
Both must be zero: the script exits 1 otherwise.
Run: `.venv/bin/python bench/two_instances.py [--backend sqlite] [--senders 16] [--checks 300]`.
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
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine import SCRIPTS
from tests.instances import Load, audit, server_environment, start_instances, stop_all
from tests.pg_server import throwaway_database


@contextlib.contextmanager
def database(args: argparse.Namespace, folder: Path) -> Iterator[tuple[str, str]]:
    """The database URL to run on, and how to name it."""
    if args.backend == "sqlite":
        yield f"sqlite:///{folder / 'tripcheck.db'}", "one SQLite file"
    elif args.url:
        yield args.url, "PostgreSQL (given URL)"
    else:
        with throwaway_database() as url:
            yield url, "PostgreSQL (throwaway server)"


async def run(args: argparse.Namespace, url: str, folder: Path) -> bool:
    """One load on two servers; whether nothing was lost or duplicated."""
    environment = server_environment(url, args.places_cache.resolve())
    instances = await start_instances(args.instances, environment, folder)
    load = Load([i.url for i in instances], SCRIPTS, senders=args.senders, checks=args.checks)
    sending = asyncio.create_task(load.run())
    try:
        if args.kill_after:
            if await load.turns_reached(args.kill_after):
                instances[-1].kill()
                print(f"killed one server (SIGKILL) after {load.acknowledged_turns} turns")
            else:
                print(f"the load ended before {args.kill_after} turns: nothing killed")
        await sending
        await load.follow_up_abandoned()
    finally:
        sending.cancel()
        await stop_all(instances)
    found = await audit(url, load.runs)

    ms = sorted(x * 1000 for x in load.latencies) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    decided = sum(run.decision is not None for run in load.runs)
    abandoned = sum(run.abandoned for run in load.runs)
    print(f"turns acknowledged: {len(load.latencies)} in {load.elapsed:.2f} s")
    print(f"turns per second: {len(load.latencies) / max(load.elapsed, 1e-9):,.0f}")
    print(f"turn latency ms: p50 {statistics.median(ms):.1f}  p99 {p99:.1f}  max {ms[-1]:.1f}")
    print(
        f"checks: {len(load.runs)}, decisions acknowledged: {decided},"
        f" in the database: {found.decisions}, checks abandoned: {abandoned}"
        f" (failed requests {load.failed_requests}, error replies {load.error_replies})"
    )
    print(
        f"lost: {found.lost} (turns {found.lost_turns}, decisions {found.lost_decisions}),"
        f" duplicate: {found.duplicates}, broken decisions: {len(found.broken)}"
    )
    if load.failures:
        print(f"  failed requests: {', '.join(sorted(set(load.failures)))}")
    for problem in found.broken[:10]:
        print(f"  broken: {problem}")
    clean = found.lost == 0 and found.duplicates == 0 and not found.broken
    print(f"nothing lost, nothing twice: {'yes' if clean else 'NO'}")
    return clean and load.error_replies == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: a throwaway server)")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--checks", type=int, default=300, help="whole checks in all")
    parser.add_argument("--kill-after", type=int, default=0, help="SIGKILL one after N turns")
    parser.add_argument("--places-cache", type=Path, default=ROOT / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args, Path(tmp)) as (url, name):
        print(
            f"{args.instances} instances on {name}: {args.senders} senders,"
            f" {args.checks} whole checks over REST, each check's turns split across them"
        )
        clean = asyncio.run(run(args, url, Path(tmp)))
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
