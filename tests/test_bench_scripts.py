"""Each benchmark script runs on tiny sizes and prints its figures (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import PLACES_CACHE
from tests.pg_server import binaries

ROOT = Path(__file__).resolve().parents[1]
CACHE = str(PLACES_CACHE)
HTTP_SMOKE = ["bench/http.py", "--rounds", "1", "--senders", "4", "--connections", "2"]
HTTP_SMOKE += ["--checks", "2", "--seconds", "1", "--tool", "httpx", "--places-cache", CACHE]


def run_bench(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("arguments", "figures"),
    [
        (
            ["bench/places.py", "--lookups", "30", "--cache", CACHE],
            ["places in index", "warm load", "index memory", "p99", "target p99 < 2 ms"],
        ),
        (
            ["bench/decision_log.py", "--sizes", "300", "--repeats", "1"],
            [
                "decision log of 300 decisions (SQLite), built in",
                "list (filtered, 50)",
                "full-text count",
                "stats, whole log",
                "CSV export, whole log",
                "sqlite3 -csv",
                "CSV export peak Python memory",
            ],
        ),
        (
            ["bench/engine.py", "--checks", "3", "--places-cache", CACHE],
            ["turns per second", "turn latency ms: p50", "save turn ms:", "targets: p50 <"],
        ),
        (
            ["bench/startup.py", "--rounds", "1", "--checks", "1", "--places-cache", CACHE],
            ["tripcheck evaluate", "serve ready", "serve peak RSS", "chat peak RSS"],
        ),
        (
            ["bench/answers.py", "--limit", "2"],
            [
                "median answers per check, one sentence:",
                "median answers per check, plain:",
                "max decision lines per check:",
            ],
        ),
        (
            HTTP_SMOKE,
            ["round 1 floor", "round 1 tripcheck", "tripcheck/floor turns/s", "tripcheck p99"],
        ),
    ],
    ids=["places", "decision_log", "engine", "startup", "answers", "http"],
)
def test_a_bench_script_prints_its_figures(arguments: list[str], figures: list[str]) -> None:
    printed = run_bench(*arguments)
    for figure in figures:
        assert figure in printed
    # The closing block: every figure again with its target and whether it meets it.
    closing = printed.split("\nsummary:\n", 1)[1]
    assert closing.strip() and all("(target " in line for line in closing.splitlines())


@pytest.mark.postgres
@pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed")
def test_the_decision_log_bench_runs_on_a_throwaway_postgresql() -> None:
    printed = run_bench(
        "bench/decision_log.py", "--backend", "postgresql", "--sizes", "300", "--repeats", "1"
    )
    assert "decision log of 300 decisions (PostgreSQL)" in printed
    assert "stats, whole log" in printed


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed"),
            ],
        ),
    ],
)
def test_the_two_instance_bench_kills_one_and_counts_nothing_lost(backend: str) -> None:
    printed = run_bench(
        "bench/two_instances.py",
        *("--backend", backend, "--senders", "2", "--checks", "4", "--kill-after", "20"),
        *("--places-cache", CACHE),
    )
    for figure in ["turns per second", "turn latency ms: p50", "killed one server (SIGKILL)"]:
        assert figure in printed
    assert "lost: 0 (turns 0, decisions 0), duplicate: 0, broken decisions: 0" in printed


@pytest.mark.postgres
@pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed")
def test_the_engine_bench_runs_on_a_throwaway_postgresql() -> None:
    printed = run_bench(
        "bench/engine.py", "--backend", "postgresql", "--checks", "3", "--places-cache", CACHE
    )
    assert "storage: PostgreSQL" in printed
    assert "checks: 3, decisions recorded: 3" in printed
    assert "turn latency ms: p50" in printed
