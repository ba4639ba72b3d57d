"""Wires the parts together: settings → rule set, place index, storage backend → engine."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.engine import Engine
from bot.settings import Settings
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from storage import open_backend
from tripcheck.metrics import PrometheusMetrics


def place_cache_dir(settings: Settings) -> Path:
    """Where the place index is cached: the user's cache folder unless configured."""
    if settings.places_cache is not None:
        return settings.places_cache
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "tripcheck"


async def open_engine(settings: Settings) -> Engine:
    """Loads the rules and places and opens storage; raises RuleSetError or StorageError."""
    rules = load_ruleset(settings.rules_dir)
    storage = await open_backend(settings)
    places = asyncio.get_running_loop().run_in_executor(
        None, PlaceIndex.load, place_cache_dir(settings)
    )
    return Engine(
        rules,
        storage,
        places=places,
        idle_days=settings.idle_days,
        default_lang=settings.lang,
        decision_log=storage.decision_log,
        admins=settings.admins(),
        observer=PrometheusMetrics(),
    )
