"""Wires the parts together: settings → rule set, place index, storage backend → engine."""

from __future__ import annotations

import asyncio

from bot.engine import Engine
from bot.settings import Settings
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from storage import open_backend
from tripcheck.metrics import PrometheusMetrics


async def open_engine(settings: Settings) -> Engine:
    """Loads the rules and places and opens storage; raises RuleSetError or StorageError."""
    rules = load_ruleset(settings.rules_dir)
    storage = await open_backend(settings)
    places = asyncio.get_running_loop().run_in_executor(
        None, PlaceIndex.load, settings.place_cache_dir()
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
