"""requirements.lock pins every dependency with hashes, and the set-up installs from it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pinned() -> dict[str, list[str]]:
    """Each pinned package of the lock (canonical name) and its hashes."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            found[current] = []
        elif line.strip().startswith("--hash=sha256:"):
            found[current].append(line.strip().split(":", 1)[1].rstrip(" \\"))
    return found


def test_every_dependency_the_dev_extras_and_the_build_backend_are_pinned_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["dev"],
        *project["build-system"]["requires"],
    ]
    lock = pinned()
    missing = [w for w in wanted if canonicalize_name(Requirement(w).name) not in lock]
    assert not missing, f"run `make lock`: {missing}"
    unhashed = [name for name, hashes in lock.items() if not hashes]
    assert not unhashed
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for hashes in lock.values() for h in hashes)


def test_the_set_up_installs_from_the_lock_alone() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP): pyproject.toml $(LOCK)\n", 1)[1].split("\n\n", 1)[0]
    assert "pip install --quiet --require-hashes -r $(LOCK)" in recipe
    assert "pip install --quiet --no-deps --no-build-isolation -e ." in recipe
    assert "pip check" in recipe
    assert re.search(r"^LOCK := requirements.lock$", makefile, re.M)
    assert re.search(r"^lock:$", makefile, re.M)
