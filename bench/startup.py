"""Benchmark: start-up time and peak memory of the `tripcheck` commands, on a warm cache.

Prints, each the median of `--rounds` fresh processes:
- `tripcheck evaluate` of a case file (the public scenarios by default): wall time, with the
  bare interpreter start (`python -c pass`) beside it as the floor;
- `tripcheck serve` with every channel on: seconds until /readyz answers, and the server's
  peak RSS after `--checks` whole checks over REST (platform APIs point at a closed port on
  loopback, so nothing leaves the machine);
- `tripcheck chat` running one whole check from stdin: peak RSS.

Run: `.venv/bin/python bench/startup.py [--rounds 3] [--checks 20]`.
"""

from __future__ import annotations

# ruff: noqa: E402 (the path is fixed before the imports)
import sys

# bench/http.py is named like the standard library's http package: run as a script, this
# folder comes first on the path and would shadow it.
sys.path[:] = [p for p in sys.path if p not in ("", __file__.rsplit("/", 1)[0])]

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cases import public_cases
from bench.engine import SCRIPTS
from bench.summary import Summary

PUBLIC_CASES = public_cases()
TOKEN = "bench-token"
# Targets of issue 16.
EVALUATE_TARGET_S = 0.8
READY_TARGET_S = 2.0
SERVE_RSS_TARGET_MB = 150
CHAT_RSS_TARGET_MB = 120


def tripcheck() -> str:
    """The `tripcheck` entry point next to this interpreter."""
    found = Path(sys.executable).with_name("tripcheck")
    return str(found) if found.exists() else shutil.which("tripcheck") or "tripcheck"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(folder: Path, places_cache: Path, port: int) -> dict[str, str]:
    """Every channel on, platform APIs on a closed loopback port, a fresh SQLite file."""
    closed = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIPCHECK_", "SLACK_"))}
    env.update(
        TRIPCHECK_DB=str(folder / "bench.db"),
        TRIPCHECK_PLACES_CACHE=str(places_cache),
        TRIPCHECK_REST_TOKEN=TOKEN,
        TRIPCHECK_HOST="127.0.0.1",
        TRIPCHECK_LOG_LEVEL="warning",
        PORT=str(port),
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench-signing-secret",
        SLACK_API_URL=closed + "/slack/",
        TELEGRAM_BOT_TOKEN="123:bench",
        TELEGRAM_WEBHOOK_SECRET="bench-secret",
        TELEGRAM_API_URL=closed + "/telegram/",
        TEAMS_CLIENT_ID="00000000-0000-0000-0000-000000000000",
        TEAMS_CLIENT_SECRET="bench-secret",
        TEAMS_TENANT_ID="00000000-0000-0000-0000-000000000001",
    )
    return env


def wait_exit(process: subprocess.Popen[bytes]) -> float:
    """Waits for a child; its own peak RSS in MiB (wait4 reports that child's usage only)."""
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return usage.ru_maxrss / 1024


def evaluate_seconds(cases: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [tripcheck(), "evaluate", str(cases), "--format", "jsonl"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def interpreter_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(
        url,
        data=body,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def serve_round(env: dict[str, str], port: int, checks: int) -> tuple[float, float]:
    """Seconds until /readyz answers, and peak RSS (MiB) after `checks` whole checks."""
    import json

    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        [tripcheck(), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError("tripcheck serve exited before it was ready")
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.01)
            if time.perf_counter() - started > 60:
                raise RuntimeError("tripcheck serve was not ready within 60 s")
        ready = time.perf_counter() - started
        for n in range(checks):
            for text in SCRIPTS[n % len(SCRIPTS)]:
                body = json.dumps({"sender": f"s{n}", "message": text}).encode()
                post(base + "/webhooks/rest", body)
    finally:
        process.terminate()
    return ready, wait_exit(process)


def chat_rss(env: dict[str, str]) -> float:
    """Peak RSS (MiB) of `tripcheck chat --plain` running one whole check from stdin."""
    script = "\n".join(SCRIPTS[0]) + "\n"
    process = subprocess.Popen(
        [tripcheck(), "chat", "--plain", "--user", "bench"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdin is not None
    process.stdin.write(script.encode())
    process.stdin.close()
    return wait_exit(process)


def verdict(value: float, target: float) -> str:
    return "meets" if value < target else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--checks", type=int, default=20, help="whole checks over REST")
    parser.add_argument("--cases", type=Path, default=PUBLIC_CASES)
    parser.add_argument("--places-cache", type=Path, default=ROOT / "data")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        env = environment(folder, args.places_cache.resolve(), port)
        evaluate_seconds(args.cases, env)  # warms the place cache (built on the first run)
        floor = statistics.median(interpreter_seconds() for _ in range(args.rounds))
        evaluate = statistics.median(evaluate_seconds(args.cases, env) for _ in range(args.rounds))
        serves = [serve_round(env, port, args.checks) for _ in range(args.rounds)]
        ready = statistics.median(r for r, _ in serves)
        serve_peak = max(p for _, p in serves)
        chat_peak = max(chat_rss(env) for _ in range(args.rounds))
    print(f"start-up and memory, median of {args.rounds} fresh processes, warm place cache:")
    print(f"  python -c pass (floor)          {floor:7.3f} s")
    print(
        f"  tripcheck evaluate {args.cases.name:12} {evaluate:7.3f} s   "
        f"target < {EVALUATE_TARGET_S} s: {verdict(evaluate, EVALUATE_TARGET_S)}"
    )
    print(
        f"  tripcheck serve ready           {ready:7.3f} s   "
        f"target < {READY_TARGET_S} s: {verdict(ready, READY_TARGET_S)}"
    )
    print(
        f"  serve peak RSS ({args.checks} checks)     {serve_peak:7.0f} MB  "
        f"target < {SERVE_RSS_TARGET_MB} MB: {verdict(serve_peak, SERVE_RSS_TARGET_MB)}"
        "   (every channel on)"
    )
    print(
        f"  chat peak RSS (1 check)         {chat_peak:7.0f} MB  "
        f"target < {CHAT_RSS_TARGET_MB} MB: {verdict(chat_peak, CHAT_RSS_TARGET_MB)}"
    )
    summary = Summary()
    for name, value, unit, target in (
        (f"tripcheck evaluate {args.cases.name}", evaluate, "s", EVALUATE_TARGET_S),
        ("tripcheck serve ready (warm)", ready, "s", READY_TARGET_S),
        ("serve peak RSS, every channel on", serve_peak, "MB", SERVE_RSS_TARGET_MB),
        ("chat peak RSS", chat_peak, "MB", CHAT_RSS_TARGET_MB),
    ):
        shown = f"{value:.3f} s" if unit == "s" else f"{value:.0f} MB"
        summary.add(name, shown, f"< {target} {unit}", value < target)
    summary.print()


if __name__ == "__main__":
    main()
