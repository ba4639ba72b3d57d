"""Where the public acceptance cases are: the shared folder beside the checkout (or beside a
worktree's parent), else the workplace's own."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKPLACE_CASES = Path("/work/shared/scenarios/public.yml")


def public_cases() -> Path:
    """The public acceptance cases (../shared/scenarios/public.yml)."""
    for folder in ROOT.parents:
        cases = folder / "shared" / "scenarios" / "public.yml"
        if cases.exists():
            return cases
    return WORKPLACE_CASES
