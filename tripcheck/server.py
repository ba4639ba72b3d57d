"""One HTTP app for every channel's webhooks, plus health and readiness."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.channel import Channel, DirectChannel, WarmingChannel, enabled_channels
from adapters.chat_kit import BodyLimit
from bot.engine import Engine
from bot.retention import purge_daily
from bot.settings import Settings
from bot.storage import StorageError
from tripcheck import metrics
from tripcheck.connections import AcceptErrorLog, connection_cap, guarded_protocol
from tripcheck.followups import start_followups

T = TypeVar("T")
log = logging.getLogger("tripcheck.server")
# How long shutdown waits for turns still being handled after the last request.
DRAIN_SECONDS = 20.0


class DirectRoutes:
    """ASGI middleware: a POST to a channel's direct path goes straight to its app, past
    the rest of the middleware and the router; everything else on to them."""

    def __init__(self, app: ASGIApp, direct: dict[str, ASGIApp]) -> None:
        self.app = app
        self.direct = direct

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.direct.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    settings: Settings, engine: Engine, channels: list[Channel] | None = None
) -> Starlette:
    """The ASGI app: /healthz, /readyz and the routes of every enabled channel, every request
    body capped at settings.max_body_bytes before any route sees it (by the middleware, or by
    a direct route's own app)."""
    active = enabled_channels(settings, engine) if channels is None else channels

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        try:
            await engine.storage.ping()
        except StorageError as error:
            # Outsiders learn only up or down; the error (with its path) is for the log.
            log.warning("not ready: %s", error)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse(
            {
                "status": "ready",
                "rules_version": engine.rules.version,
                "channels": [c.name for c in active],
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        for started in active:
            await started.start()
        retention = None
        if engine.admin is not None:
            job = purge_daily(engine.admin.log, settings.retention_months)
            retention = asyncio.create_task(job)
        followups = start_followups(engine, active)
        stop_metrics = metrics.start_server(settings, engine.observer)
        keep_out_of_collections()
        warming = asyncio.create_task(keep_out_once_warmed(active))
        log.info("serving", extra={"channels": [c.name for c in active]})
        try:
            yield
        finally:
            warming.cancel()
            if retention is not None:
                retention.cancel()
            if followups is not None:
                followups.cancel()
            if stop_metrics is not None:
                stop_metrics()
            for stopping in active:
                await stopping.stop()
            # Turns acknowledged to a platform may still be running: let them finish.
            try:
                await asyncio.wait_for(engine.drain(), DRAIN_SECONDS)
            except TimeoutError:
                log.warning("shutdown: turns still running after %s s", DRAIN_SECONDS)
            await engine.storage.close()
            log.info("stopped")

    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    routes.extend(metrics.routes(settings, engine.observer))
    for channel in active:
        routes.extend(channel.routes)
    direct = {
        path: endpoint
        for channel in active
        if isinstance(channel, DirectChannel)
        for path, endpoint in channel.direct_routes.items()
    }
    middleware = [Middleware(DirectRoutes, direct=direct)] if direct else []
    middleware.append(Middleware(BodyLimit, limit=settings.max_body_bytes))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def keep_out_of_collections() -> None:
    """Moves what start-up built (rules, texts, vocabularies, the SDKs) out of the garbage
    collector's sight: it lives as long as the process, and every full collection walked it
    all, stalling every request in flight (20–40 ms, several times a minute under load)."""
    gc.collect()
    gc.freeze()


async def keep_out_once_warmed(channels: list[Channel]) -> None:
    """What channels load after start-up (the Teams SDK) lives as long as the process too."""
    warming = [channel.warmed() for channel in channels if isinstance(channel, WarmingChannel)]
    if warming:
        await asyncio.gather(*warming, return_exceptions=True)
        keep_out_of_collections()


def run_serving(main: Coroutine[Any, Any, T]) -> T:
    """Runs the server's coroutine on uvloop when it is installed (uvicorn[standard]): its
    transports and timers in C take much of the per-request cost off the event loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def serve(settings: Settings, engine: Engine) -> None:
    """Runs the app on settings.host:settings.port until SIGTERM or SIGINT, with the header
    and keep-alive timeouts and the connection cap of the settings."""
    import uvicorn

    asyncio.get_running_loop().set_exception_handler(AcceptErrorLog())
    max_connections = connection_cap(settings.max_connections)
    config = uvicorn.Config(
        create_app(settings, engine),
        host=settings.host,
        port=settings.port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=int(DRAIN_SECONDS),
        http=guarded_protocol(settings.header_timeout, max_connections),
        # No channel uses WebSockets: "auto" would import the websockets package at start.
        ws="none",
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
        limit_concurrency=max_connections,
        # uvicorn trusts X-Forwarded-For from loopback by default; only configured proxies.
        proxy_headers=bool(settings.forwarded_allow_ips.strip()),
        forwarded_allow_ips=settings.forwarded_allow_ips.strip() or None,
    )
    # uvicorn re-raises SIGTERM/SIGINT once it has shut down gracefully, which would end the
    # process as "killed"; after a clean drain the right exit status is 0.
    for handled in (signal.SIGTERM, signal.SIGINT):
        signal.signal(handled, lambda number, frame: None)
    await uvicorn.Server(config).serve()
