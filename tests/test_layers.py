"""The layer contract of docs/architecture.md holds, and breaking it fails the check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "bot", "adapters", "storage", "tripcheck")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _copy_of_the_project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    shutil.copy(ROOT / "pyproject.toml", copy)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("*.pyc"))
    return copy


def test_the_project_keeps_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "forbidden", "contract"),
    [
        ("rules/evaluate.py", "import bot.engine", "Layers"),
        ("bot/engine.py", "import adapters.slack", "Layers"),
        ("adapters/rest.py", "import tripcheck.app", "Layers"),
        ("rules/evaluate.py", "import sqlite3", "The rules are pure"),
        ("bot/dialogue.py", "import starlette", "The engine knows no platform"),
        ("adapters/slack.py", "import storage.sqlite.store", "Adapters reach storage only"),
        ("adapters/slack.py", "import psycopg", "Adapters reach storage only"),
        ("storage/sqlite/store.py", "import adapters.slack", "Layers"),
        ("bot/engine.py", "import storage", "Layers"),
        ("bot/dialogue.py", "import psycopg", "The engine knows no platform"),
    ],
)
def test_a_forbidden_import_breaks_the_contract(
    tmp_path: Path, module: str, forbidden: str, contract: str
) -> None:
    copy = _copy_of_the_project(tmp_path)
    path = copy / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{forbidden}  # noqa\n")
    result = _lint(copy)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(line.startswith(contract) for line in broken), result.stdout
