"""The decision filter's conditions that every backend writes the same way; each backend adds
its own text matching (LIKE or ILIKE) and full-text search."""

from __future__ import annotations

from typing import Any

from bot.decision_log import DecisionFilter


def common_clauses(where: DecisionFilter, mark: str) -> tuple[list[str], list[Any]]:
    """Conditions on `decisions d` for the dates, exact columns and department spellings, with
    `mark` as the driver's placeholder ("?" or "%s"), and their parameters."""
    clauses: list[str] = []
    params: list[Any] = []
    if (since := where.since_at()) is not None:
        clauses.append(f"d.created_at >= {mark}")
        params.append(since)
    if (before := where.until_before()) is not None:
        clauses.append(f"d.created_at < {mark}")
        params.append(before)
    for column, value in (
        ("outcome", where.outcome),
        ("channel", where.channel),
        ("focus_area", where.focus_area),
    ):
        if value:
            clauses.append(f"d.{column} = {mark}")
            params.append(value)
    if where.department_spellings:
        marks = ", ".join(mark for _ in where.department_spellings)
        clauses.append(f"d.department IN ({marks})")
        params.extend(where.department_spellings)
    return clauses, params


def like_escaped(value: str) -> str:
    """`value` with LIKE's wildcards escaped (escape: backslash)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(value: str) -> str:
    """`value` as a substring pattern with LIKE's wildcards escaped (escape: backslash)."""
    return f"%{like_escaped(value)}%"


def like_prefix(value: str) -> str:
    """`value` as a prefix pattern with LIKE's wildcards escaped (escape: backslash)."""
    return f"{like_escaped(value)}%"
