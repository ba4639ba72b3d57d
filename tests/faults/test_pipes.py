"""`tripcheck decisions export | head`: the reader stops early, and the export ends quietly
(exit 0, nothing on stderr) instead of with a BrokenPipeError traceback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import TRIPCHECK, env
from tests.decision_factory import build_log

pytestmark = pytest.mark.faults


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_export_read_only_in_part_ends_quietly(tmp_path: Path, fmt: str) -> None:
    db = tmp_path / "log.db"
    build_log(db, 3000)  # far more than a pipe holds
    export = subprocess.Popen(
        [TRIPCHECK, "decisions", "export", "--format", fmt, "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env(db),
    )
    assert export.stdout is not None and export.stderr is not None
    head = [export.stdout.readline() for _ in range(3)]
    export.stdout.close()  # as `head -n 3` does
    stderr = export.stderr.read().decode()
    code = export.wait(timeout=60)
    print(
        f"read {len(head)} lines of a {fmt} export, then closed the pipe: exit {code}, "
        f"stderr {stderr[:200]!r}"
    )
    assert all(head) and code == 0 and stderr == ""
