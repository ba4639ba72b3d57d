"""Prometheus metrics: the observer port (bot/observe.py) counted, and served at /metrics.

`/metrics` is never open to anyone: it is served on its own port (TRIPCHECK_METRICS_PORT,
kept off the public network), or on the public port behind a bearer token
(TRIPCHECK_METRICS_TOKEN), or both (the token is then asked for on either). With neither
setting it is not served at all."""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.settings import Settings

log = logging.getLogger("tripcheck.metrics")
PATH = "/metrics"
# Seconds: a turn is milliseconds on SQLite; the top buckets catch a locked or slow database.
TURN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PrometheusMetrics:
    """The Observer that counts into its own registry (so several apps in one process, as in
    the tests, never share counters)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._turns = Counter(
            "tripcheck_turns",
            "Handled messages, by channel and the step open after the turn (none: no check).",
            ["channel", "step"],
            registry=self.registry,
        )
        self._decisions = Counter(
            "tripcheck_decisions",
            "Recorded decisions, by channel and outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self._turn_seconds = Histogram(
            "tripcheck_turn_seconds",
            "Time to handle one message, by channel.",
            ["channel"],
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self._storage_errors = Counter(
            "tripcheck_storage_errors",
            "Turns that failed because storage could not be used.",
            registry=self.registry,
        )
        self._platform_errors = Counter(
            "tripcheck_platform_errors",
            "Calls to a platform's API (Slack, Telegram, Teams) that failed.",
            ["platform"],
            registry=self.registry,
        )
        self._rate_limited = Counter(
            "tripcheck_platform_rate_limited",
            "Calls to a platform's API answered with 429 (waited out and tried again).",
            ["platform"],
            registry=self.registry,
        )
        self._turn_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    def turn(self, channel: str, step: str | None, seconds: float) -> None:
        # The labelled children are looked up once per channel and step: every turn counts.
        key = (channel, step or "none")
        children = self._turn_children.get(key)
        if children is None:
            children = (self._turns.labels(*key), self._turn_seconds.labels(channel))
            self._turn_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def decision(self, channel: str, outcome: str) -> None:
        self._decisions.labels(channel, outcome).inc()

    def storage_error(self) -> None:
        self._storage_errors.inc()

    def platform_error(self, platform: str) -> None:
        self._platform_errors.labels(platform).inc()

    def platform_rate_limited(self, platform: str) -> None:
        self._rate_limited.labels(platform).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)


def authorised(header: str | None, settings: Settings) -> bool:
    """Whether an Authorization header may read the metrics (always, without a token)."""
    if settings.metrics_token is None:
        return True
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    return header is not None and hmac.compare_digest(header.encode(), expected.encode())


def routes(settings: Settings, observer: object) -> list[BaseRoute]:
    """/metrics on the public port: only behind TRIPCHECK_METRICS_TOKEN."""
    if not isinstance(observer, PrometheusMetrics) or settings.metrics_token is None:
        return []

    async def metrics(request: Request) -> Response:
        if not authorised(request.headers.get("authorization"), settings):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(observer.exposition(), media_type=CONTENT_TYPE_LATEST)

    return [Route(PATH, metrics)]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        # Scrapes every few seconds would flood the log; the JSON log is for turns.
        pass


def start_server(settings: Settings, observer: object) -> Callable[[], None] | None:
    """Serves /metrics on TRIPCHECK_METRICS_PORT in a thread of its own; returns how to stop
    it, or None when no metrics port is set."""
    if not isinstance(observer, PrometheusMetrics) or settings.metrics_port is None:
        return None

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not authorised(environ.get("HTTP_AUTHORIZATION"), settings):
            start_response("401 Unauthorized", [("WWW-Authenticate", "Bearer")])
            return [b""]
        body = observer.exposition()
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
        return [body]

    server = make_server(
        settings.host, settings.metrics_port, app, _Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="tripcheck-metrics", daemon=True)
    thread.start()
    log.info("metrics", extra={"port": settings.metrics_port})

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop
