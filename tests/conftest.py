"""Shared fixtures: the shipped rule set, an engine on a real in-memory SQLite database, and a
chat driver that speaks the jsonl contract in-process."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters import jsonl
from bot.engine import Engine
from bot.messages import ConversationKey
from rules.loader import load_ruleset
from rules.places import PlaceIndex
from rules.ruleset import RuleSet
from storage import Backend, open_url
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import PLACES_CACHE
from tests.pg_server import PostgresServer, binaries


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any test that tries to reach beyond this machine fails (as PTB's OfflineRequest does)."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if (
            isinstance(host, str)
            and host not in ("127.0.0.1", "::1", "localhost")
            and not host.startswith("/")
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_ruleset()


@pytest.fixture(scope="session")
def place_index() -> PlaceIndex:
    """The real place index, built once and cached on disk for later runs (and subprocesses)."""
    return PlaceIndex.load(PLACES_CACHE)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_790_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, days: float) -> None:
        self.now += days * 86400


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def storage() -> AsyncIterator[SQLiteStorage]:
    store = await SQLiteStorage.open(":memory:")
    yield store
    await store.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the whole run (`make test` installs Debian's)."""
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; make test does)")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a fresh, empty database on the test server."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A fresh database on each backend: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tripcheck.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def backend(database_url: str) -> AsyncIterator[Backend]:
    """An open, migrated backend on each kind of database."""
    store = await open_url(database_url)
    yield store
    await store.close()


@pytest.fixture
def engine(rules: RuleSet, storage: SQLiteStorage, clock: Clock) -> Engine:
    return Engine(rules, storage, clock=clock)


class Chat:
    """Drives one user's conversation through the jsonl adapter, line by line."""

    def __init__(self, engine: Engine, user: str = "anna", lang: str | None = None) -> None:
        self.engine = engine
        self.key = ConversationKey("terminal", user, user)
        self.lang = lang
        self.replies: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any] | str) -> list[dict[str, Any]]:
        line = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
        self.replies = await jsonl.handle_line(self.engine, self.key, line, self.lang)  # type: ignore[arg-type]
        return self.replies

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.send({"text": text})

    async def choose(self, value: str) -> list[dict[str, Any]]:
        return await self.send({"choice": value})

    @property
    def question(self) -> dict[str, Any]:
        questions = [r for r in self.replies if r["type"] == "question"]
        assert questions, f"no question in {self.replies}"
        return questions[-1]

    @property
    def step(self) -> str | None:
        questions = [r for r in self.replies if r["type"] == "question"]
        return questions[-1]["step"] if questions else None

    @property
    def decision(self) -> dict[str, Any]:
        found = [r for r in self.replies if r["type"] == "decision"]
        assert found, f"no decision in {self.replies}"
        return found[-1]["decision"]  # type: ignore[no-any-return]

    def texts(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    def types(self) -> list[str]:
        return [r["type"] for r in self.replies]


@pytest.fixture
def chat(engine: Engine) -> Chat:
    return Chat(engine)


@pytest.fixture
def places_engine(
    rules: RuleSet, storage: SQLiteStorage, clock: Clock, place_index: PlaceIndex
) -> Engine:
    """An engine that knows places, for distances and climate figures."""
    return Engine(rules, storage, clock=clock, places=place_index)
