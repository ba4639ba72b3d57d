"""What a chat platform plugs into the server: its routes and its start and stop."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from bot.engine import Engine
from bot.settings import Settings

log = logging.getLogger("tripcheck.server")

# Every channel module has `channel(settings, engine) -> Channel | None`: None when its
# credentials are not set, so the channel is off.
CHANNEL_MODULES: tuple[str, ...] = (
    "adapters.rest",
    "adapters.slack",
    "adapters.telegram",
    "adapters.teams",
    "adapters.admin_web",
)


class Channel(Protocol):
    """A platform's webhook routes, plus work at start-up and shutdown (e.g. Socket Mode)."""

    name: str

    @property
    def routes(self) -> Sequence[BaseRoute]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@runtime_checkable
class DirectChannel(Channel, Protocol):
    """A channel with hot POST paths the server sends straight to their ASGI app, past the
    middleware and the router: each such app caps and times its own body."""

    @property
    def direct_routes(self) -> Mapping[str, ASGIApp]: ...


@runtime_checkable
class WarmingChannel(Channel, Protocol):
    """A channel that goes on loading once the server is ready (its requests wait for that):
    `warmed` returns when it is done."""

    async def warmed(self) -> None: ...


def enabled_channels(settings: Settings, engine: Engine) -> list[Channel]:
    """The channels whose credentials are set; a log line says which are off and why."""
    channels: list[Channel] = []
    for module_name in CHANNEL_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            continue
        channel = module.channel(settings, engine)
        if channel is not None:
            log.info("channel on", extra={"channel": channel.name})
            channels.append(channel)
    return channels
