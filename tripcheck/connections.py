"""Connections that cannot starve the server: a deadline for the request headers, a cap on
open connections that makes room by closing the oldest idle one, enough file descriptors
for that cap, and one short log line (not thousands) when accept() runs out of them.

uvicorn has a keep-alive timeout but no header timeout: a client that connects and sends
nothing, or one header byte a second, holds its connection for ever. Its `limit_concurrency`
answers 503 once that many connections are open, half-open ones included, so a few hundred
of them would make /healthz fail for everyone."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("tripcheck.server")
# File descriptors kept beside the connections: the database, its journal, the listening
# socket, the event loop, outgoing API connections.
RESERVED_DESCRIPTORS = 64
# The most bytes of request line and headers (h11's default, which httptools lacks).
MAX_HEADER_BYTES = 16 * 1024
# At most one "out of file descriptors" line per this many seconds.
ACCEPT_ERROR_LOG_SECONDS = 10.0


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol (llhttp, in C: far less CPU a request than h11), plus a
    header deadline, a header size cap and room-making at the connection cap.

    A connection is idle while it waits for a request's headers (new, or kept alive after
    a response). Idle longer than `header_timeout`: closed. A new connection at the cap:
    the oldest idle one is closed, so clients that send a request at once are served."""

    header_timeout: float = 10.0
    max_connections: int = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self._awaiting_headers = True
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()
        if sum(not c.transport.is_closing() for c in self._peers()) >= self.max_connections:
            self._make_room()

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            if self._header_deadline is None:
                # The first byte of the next request on a kept-alive connection: the headers
                # must now be complete within header_timeout, however slowly they trickle.
                self._await_headers()
            self._header_bytes += len(data)
        super().data_received(data)
        # Still no end of the headers past the cap: refused as a bad request (what is
        # buffered stays under the cap plus one read).
        oversize = self._awaiting_headers and self._header_bytes > MAX_HEADER_BYTES
        if oversize and not self.transport.is_closing():
            self._headers_arrived()
            self.send_400_response("Invalid HTTP request received.")

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._headers_arrived()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        self.idle_since = time.monotonic()
        self._awaiting_headers = True
        self._header_bytes = 0
        super().on_response_complete()

    @property
    def idle(self) -> bool:
        """Waiting for a request's headers, new or kept alive; not serving one."""
        return not self.transport.is_closing() and (
            self._header_deadline is not None or self.timeout_keep_alive_task is not None
        )

    def close_idle(self) -> None:
        """Closes the connection as uvicorn's keep-alive timeout does, and stops counting it
        at once: uvicorn forgets it only in connection_lost, a loop turn later, and a
        request whose headers complete before that would be answered 503 at the cap."""
        self._headers_arrived()
        if not self.transport.is_closing():
            self.transport.close()
        self.connections.discard(self)

    def _await_headers(self) -> None:
        self.idle_since = time.monotonic()
        self._header_deadline = self.loop.call_later(self.header_timeout, self.close_idle)

    def _headers_arrived(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _peers(self) -> list[GuardedProtocol]:
        return [c for c in self.connections if isinstance(c, GuardedProtocol)]

    def _make_room(self) -> None:
        idle = [c for c in self._peers() if c is not self and c.idle]
        if idle:
            min(idle, key=lambda c: c.idle_since).close_idle()


def guarded_protocol(header_timeout: float, max_connections: int) -> type[GuardedProtocol]:
    """The protocol class for uvicorn.Config(http=...), with these limits."""
    return type(
        "ServerProtocol",
        (GuardedProtocol,),
        {"header_timeout": header_timeout, "max_connections": max_connections},
    )


def connection_cap(wanted: int) -> int:
    """Raises the soft open-files limit as far as the hard limit allows for `wanted`
    connections; returns the cap that fits under it (wanted, or lower with a warning)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    cap = max(1, soft - RESERVED_DESCRIPTORS)
    log.warning(
        "the open-files limit (%s) is too low for %s connections: serving at most %s",
        soft,
        wanted,
        cap,
    )
    return cap


class AcceptErrorLog:
    """A loop exception handler that reports accept() running out of file descriptors once
    per ACCEPT_ERROR_LOG_SECONDS, in one line without a traceback; anything else as usual.
    (asyncio logs each failed accept with its traceback, thousands a second under a flood.)"""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not str(context.get("message", "")).startswith("socket.accept() out of system"):
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._last is not None and now - self._last < ACCEPT_ERROR_LOG_SECONDS:
            self.suppressed += 1
            return
        log.warning(
            "out of file descriptors: new connections wait",
            extra={"error": str(context.get("exception", "")), "suppressed": self.suppressed},
        )
        self._last, self.suppressed = now, 0
