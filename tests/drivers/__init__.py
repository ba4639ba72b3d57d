"""Drivers for the cross-channel scenario matrix (tests/test_channel_matrix.py).

Each channel's driver talks to the real channel over loopback HTTP (or its real stdin/stdout
contract) with the platform's fake server behind it, and shows what the user sees.

The servers are shared: starting uvicorn costs about 0.15 s a time, so a module starts one
`Loopback` (two switchboard servers) and each test mounts its own fresh fake platform and app
on it, whose lifespans still run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.applications import Starlette

from bot.engine import Engine
from bot.messages import ConversationKey
from bot.state import Role
from tests.servers import running


@dataclass(frozen=True)
class Shown:
    """One message as the user sees it: its text, and the values of its buttons (if any)."""

    text: str
    buttons: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionRef:
    """A question message the user can still press buttons on (as an old client shows it)."""

    id: str
    text: str
    buttons: tuple[str, ...]


class ChannelDriver(Protocol):
    """A user of one channel. `engine` and `key` let a test read what was recorded; a test
    moves time on by replacing `engine.clock`.

    Each channel module (tests/drivers/<channel>.py) has
    `open_driver(locale: str | None, servers: Loopback | None = None)
    -> AsyncContextManager[ChannelDriver]`: a fresh app, fake platform and in-memory database
    mounted on `servers` (else on servers of its own), the user's platform set to `locale`."""

    engine: Engine
    key: ConversationKey
    # Who the channel's users are: Telegram serves partner contacts, the others employees.
    role: Role
    # Whether the channel can change a message it sent (strip its buttons, show the answer).
    # REST and jsonl only add to a transcript: what they sent stays as it was.
    edits_sent: bool

    async def say(self, text: str) -> list[Shown]:
        """Types `text`; the messages the bot sent for it."""
        ...

    async def press(self, value: str, question: QuestionRef | None = None) -> list[Shown]:
        """Presses the button `value` on `question` (the latest question by default)."""
        ...

    def latest_question(self) -> QuestionRef:
        """The latest message with buttons, as the user's client shows it now."""
        ...

    async def seen(self, question: QuestionRef) -> Shown:
        """How `question`'s message looks now (edited, buttons removed, ...)."""
        ...


class Switchboard:
    """An ASGI app that passes each request to the app mounted on it now (the test's)."""

    def __init__(self) -> None:
        self.app: Starlette | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # The mounted apps run their own lifespans (see `mounted`).
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        assert self.app is not None, "a request came with no app mounted"
        await self.app(scope, receive, send)


@dataclass
class Loopback:
    """Two loopback HTTP servers: one for the fake platform, one for our app."""

    platform_url: str
    app_url: str
    _platform: Switchboard = field(repr=False)
    _app: Switchboard = field(repr=False)

    @contextlib.asynccontextmanager
    async def mount(self, platform: Starlette | None, app: Starlette) -> AsyncIterator[None]:
        """Serves `platform` (if any) and `app` while the block runs, each with its lifespan."""
        async with contextlib.AsyncExitStack() as stack:
            if platform is not None:
                await stack.enter_async_context(_mounted(self._platform, platform))
            await stack.enter_async_context(_mounted(self._app, app))
            yield


@contextlib.asynccontextmanager
async def loopback() -> AsyncIterator[Loopback]:
    """Starts the two servers a module's tests share."""
    platform, app = Switchboard(), Switchboard()
    async with running(platform) as platform_url, running(app) as app_url:
        yield Loopback(platform_url, app_url, platform, app)


@contextlib.asynccontextmanager
async def own_or_shared(servers: Loopback | None) -> AsyncIterator[Loopback]:
    """`servers`, or servers of its own for a driver opened alone (one test of its own)."""
    if servers is not None:
        yield servers
        return
    async with loopback() as own:
        yield own


@contextlib.asynccontextmanager
async def _mounted(board: Switchboard, app: Starlette) -> AsyncIterator[None]:
    async with app.router.lifespan_context(app):
        board.app = app
        try:
            yield
        finally:
            board.app = None
