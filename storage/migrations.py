"""Numbered plain-SQL migration files, shared by the backends: `NNN_what.sql`, applied in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

FILE_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    """One file: its number (the schema version it brings the database to) and its SQL."""

    number: int
    name: str
    sql: str


def migrations_of(package: str) -> list[Migration]:
    """The migrations in `package`'s migrations/ folder; numbers must run 1, 2, 3… unbroken."""
    folder = resources.files(package).joinpath("migrations")
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.number)
    numbers = [migration.number for migration in found]
    if numbers != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations of {package} are not numbered 1…n: {numbers}")
    return found
