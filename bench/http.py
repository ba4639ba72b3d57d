"""Benchmark: whole checks over HTTP, Tripcheck's REST channel beside a minimal floor app.

The floor (bench/floor_app.py: parse JSON, one SQLite WAL write, reply) and `tripcheck serve`
(REST channel only) run alternately, `--rounds` rounds each, on loopback. In each round
`--senders` senders share `--connections` keep-alive connections (httpx), each sender
sending its checks' turns one after the other, until `--checks` whole checks are done or
`--seconds` have passed, each round in the other order. Prints turns/s and p50/p99 per
round, their medians, and the ratio: the median of the rounds' own ratios.
Run: `.venv/bin/python bench/http.py [--checks 600] [--rounds 3]`.
"""

from __future__ import annotations

# ruff: noqa: E402 (the path is fixed before the imports)
import sys

# This file is named like the standard library's http package: run as a script, its folder
# comes first on the path and would shadow it.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.engine import SCRIPTS
from bench.startup import TOKEN, environment, free_port, tripcheck
from bench.summary import Summary

RATIO_TARGET = 0.75
P99_TARGET_MS = 40


def start_floor(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "FLOOR_DB": str(folder / "floor.db")}
    # The bench folder goes last on the path, after the standard library (see the top).
    code = (
        f"import sys; sys.path.append({str(ROOT / 'bench')!r}); import uvicorn;"
        f" uvicorn.run('floor_app:app', host='127.0.0.1', port={port}, log_level='warning',"
        " http='httptools', loop='uvloop')"
    )
    command = [sys.executable, "-c", code]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def start_tripcheck(folder: Path, places_cache: Path, port: int) -> subprocess.Popen[bytes]:
    env = environment(folder, places_cache, port)
    for name in [k for k in env if k.startswith(("SLACK_", "TELEGRAM_", "TEAMS_"))]:
        del env[name]  # the REST channel only
    env["TRIPCHECK_DB"] = str(folder / f"tripcheck-{port}.db")
    return subprocess.Popen(
        [tripcheck(), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(6000):
            if process.poll() is not None:
                raise RuntimeError("the server exited before it was ready")
            try:
                if (await client.get(base + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError("the server was not ready within 60 s")


async def load(
    url: str, senders: int, connections: int, checks: int, seconds: float, round_no: int
) -> tuple[int, float, list[float]]:
    """Turns sent, elapsed seconds and each turn's latency (s)."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    latencies: list[float] = []
    remaining = checks
    deadline = time.perf_counter() + seconds

    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=30) as client:

        async def sender(number: int) -> None:
            nonlocal remaining
            n = 0
            while remaining > 0 and time.perf_counter() < deadline:
                remaining -= 1
                for text in SCRIPTS[(number + n) % len(SCRIPTS)]:
                    body = {"sender": f"r{round_no}-s{number}", "message": text}
                    started = time.perf_counter()
                    response = await client.post(url, json=body)
                    latencies.append(time.perf_counter() - started)
                    response.raise_for_status()
                n += 1

        began = time.perf_counter()
        await asyncio.gather(*(sender(number) for number in range(senders)))
        elapsed = time.perf_counter() - began
    return len(latencies), elapsed, latencies


WRK_SCRIPT = """
local scripts = %(scripts)s
local senders = %(senders)d
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
-- Request k is sender k %% senders's next turn: a sender's turns are `senders` requests
-- apart, so with fewer connections than senders each turn follows its predecessor's reply.
request = function()
  local sender = n %% senders
  local turn = math.floor(n / senders)
  n = n + 1
  local script = scripts[(sender %% #scripts) + 1]
  local text = script[(turn %% #script) + 1]
  local body = string.format('{"sender":"w%(round)d-%%d","message":"%%s"}', sender, text)
  return wrk.format(nil, "%(path)s", nil, body)
end
"""
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def lua_list(values: list[list[str]]) -> str:
    return (
        "{"
        + ", ".join(
            "{" + ", ".join(json.dumps(v, ensure_ascii=False) for v in row) + "}" for row in values
        )
        + "}"
    )


def run_wrk(
    url: str, path: str, args: argparse.Namespace, folder: Path, round_no: int
) -> tuple[float, float, float, int]:
    """wrk's turns/s, p50 and p99 (ms) and the requests sent, for whole checks against `url`."""
    script = folder / f"whole_check_{round_no}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "scripts": lua_list(SCRIPTS),
            "senders": args.senders,
            "token": TOKEN,
            "round": round_no,
            "path": path,
        }
    )
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{int(args.seconds)}s", "--latency"]
    out = subprocess.run(
        [*command, "-s", str(script), url], check=True, capture_output=True, text=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    sent = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def latency(share: str) -> float:
        found = re.search(rf"^\s+{share}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert found is not None, out
        return float(found.group(1)) * _UNITS[found.group(2)]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"    ({errors.group(1)} error responses)")
    return rate, latency("50"), latency("99"), sent


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) a process has used so far; None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[float], share: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


async def one_round(
    name: str, args: argparse.Namespace, folder: Path, round_no: int
) -> tuple[float, float, float]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if name == "floor":
        process = start_floor(folder, port)
        path = "/turn"
    else:
        process = start_tripcheck(folder, args.places_cache.resolve(), port)
        path = "/webhooks/rest"
    try:
        await wait_ready(base, process)
        cpu_before = cpu_seconds(process.pid)
        if args.tool == "wrk":
            rate, p50, p99, turns = run_wrk(base, path, args, folder, round_no)
        else:
            turns, elapsed, latencies = await load(
                base + path, args.senders, args.connections, args.checks, args.seconds, round_no
            )
            ms = sorted(x * 1000 for x in latencies)
            rate = turns / elapsed
            p50, p99 = statistics.median(ms), percentile(ms, 0.99)
        cpu_after = cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait()
    # The server's own CPU per turn says whether it, rather than the load generator or a
    # busy machine, is the bound.
    cpu = (
        f"   server CPU {(cpu_after - cpu_before) * 1000 / turns:.2f} ms/turn"
        if cpu_before is not None and cpu_after is not None and turns
        else ""
    )
    print(
        f"  round {round_no} {name:9} {rate:8,.0f} turns/s   p50 {p50:6.1f} ms"
        f"   p99 {p99:6.1f} ms{cpu}"
    )
    return rate, p50, p99


async def main(args: argparse.Namespace) -> None:
    results: dict[str, list[tuple[float, float, float]]] = {"floor": [], "tripcheck": []}
    bound = f"{args.seconds:.0f} s" if args.tool == "wrk" else f"{args.checks} whole checks"
    print(
        f"{args.senders} senders over {args.connections} connections, {bound} per round"
        f" ({args.tool}), alternating:"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            # Each round in the other order (floor first, then Tripcheck first, ...): on a
            # machine whose speed drifts, neither side is always the one measured later.
            order = ("floor", "tripcheck") if round_no % 2 else ("tripcheck", "floor")
            for name in order:
                results[name].append(await one_round(name, args, Path(tmp), round_no))
    medians = {
        name: tuple(statistics.median(r[i] for r in rows) for i in range(3))
        for name, rows in results.items()
    }
    for name, (rate, p50, p99) in medians.items():
        print(f"  median   {name:9} {rate:8,.0f} turns/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    # The ratio is the median of the rounds' own ratios: each compares two runs made one
    # after the other, where the medians' ratio would compare runs minutes apart.
    ratios = [t[0] / f[0] for t, f in zip(results["tripcheck"], results["floor"], strict=True)]
    ratio = statistics.median(ratios)
    of_medians = medians["tripcheck"][0] / medians["floor"][0]
    p99 = medians["tripcheck"][2]
    per_round = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"  tripcheck/floor turns/s: {ratio:.2f} (median of the rounds {per_round};"
        f" of the medians {of_medians:.2f})"
        f"; target >= {RATIO_TARGET}: {'meets' if ratio >= RATIO_TARGET else 'MISSES'}"
    )
    print(
        f"  tripcheck p99 {p99:.1f} ms; target < {P99_TARGET_MS} ms:"
        f" {'meets' if p99 < P99_TARGET_MS else 'MISSES'}"
    )
    summary = Summary()
    rates = f"{medians['tripcheck'][0]:,.0f} vs {medians['floor'][0]:,.0f} turns/s"
    summary.add(
        "REST tripcheck/floor turns/s",
        f"{ratio:.2f} ({rates})",
        f">= {RATIO_TARGET}",
        ratio >= RATIO_TARGET,
    )
    summary.add("REST tripcheck p99", f"{p99:.1f} ms", f"< {P99_TARGET_MS} ms", p99 < P99_TARGET_MS)
    summary.print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=200)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--checks", type=int, default=600, help="whole checks per round")
    parser.add_argument("--seconds", type=float, default=60, help="at most this long per round")
    parser.add_argument("--places-cache", type=Path, default=ROOT / "data")
    parser.add_argument(
        "--tool",
        choices=["wrk", "httpx"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="the load generator (wrk, Debian's package, when installed: far less CPU)",
    )
    asyncio.run(main(parser.parse_args()))
