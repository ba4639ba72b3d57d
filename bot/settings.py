"""Settings from the environment (documented in .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

DEFAULT_DB = Path("data") / "tripcheck.db"


class Settings(BaseModel):
    """What an installation can set. Command-line options override the environment."""

    db: Path = DEFAULT_DB
    lang: str = Field(default="sv", pattern="^(sv|en)$")
    idle_days: float = Field(default=14.0, gt=0)
    rules_dir: Path | None = None
    places_cache: Path | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """Reads TRIPCHECK_* variables; unset ones keep their defaults."""
        env = os.environ
        values: dict[str, object] = {}
        names = {
            "db": "TRIPCHECK_DB",
            "lang": "TRIPCHECK_LANG",
            "idle_days": "TRIPCHECK_IDLE_DAYS",
            "rules_dir": "TRIPCHECK_RULES_DIR",
            "places_cache": "TRIPCHECK_PLACES_CACHE",
        }
        for field, name in names.items():
            if env.get(name):
                values[field] = env[name]
        return cls.model_validate(values)
