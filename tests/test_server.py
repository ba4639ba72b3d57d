"""`tripcheck serve`: health, readiness and the REST channel, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters import rest
from bot.engine import Engine
from bot.messages import ConversationKey
from bot.settings import Settings
from rules.ruleset import RuleSet
from storage.sqlite.store import SQLiteStorage
from tests.cli_helpers import TRIPCHECK, env
from tests.servers import free_port, running
from tests.test_conversation import ENGLISH_CHECK
from tripcheck.server import create_app

TOKEN = "rest-token-for-tests"


def settings(**values: str) -> Settings:
    return Settings.model_validate(values)


@pytest.fixture
async def server(rules: RuleSet) -> AsyncIterator[tuple[str, Engine]]:
    storage = await SQLiteStorage.open(":memory:")
    engine = Engine(rules, storage)
    async with running(create_app(settings(TRIPCHECK_REST_TOKEN=TOKEN), engine)) as url:
        yield url, engine


async def post(url: str, body: object, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{url}/webhooks/rest", json=body, headers=headers)


async def test_health_and_readiness(server: tuple[str, Engine]) -> None:
    url, engine = server
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{url}/healthz")
        ready = await client.get(f"{url}/readyz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["rules_version"] == engine.rules.version
    assert ready.json()["channels"] == ["rest"]


async def test_readiness_fails_when_the_database_is_damaged(
    rules: RuleSet, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "t.db"
    storage = await SQLiteStorage.open(db)
    app = create_app(settings(), Engine(rules, storage))
    async with running(app) as url, httpx.AsyncClient() as client:
        assert (await client.get(f"{url}/readyz")).status_code == 200
        with db.open("r+b") as damaged:
            damaged.write(b"\xff" * 4096 * 4)
        ready = await client.get(f"{url}/readyz")
        health = await client.get(f"{url}/healthz")
    # Outsiders learn only that it is down; the detail, with the path, is in the log.
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
    assert str(tmp_path) not in ready.text
    assert any("corrupt" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert health.status_code == 200


async def test_a_whole_check_over_the_rest_channel(server: tuple[str, Engine]) -> None:
    url, engine = server
    replies = (await post(url, {"sender": "web-42", "message": "hello"})).json()
    assert [r["type"] for r in replies] == ["message", "question"]
    assert replies[-1]["step"] == "kind"
    replies = (await post(url, {"sender": "web-42", "choice": "trip"})).json()
    for step, text in ENGLISH_CHECK[1:]:
        assert replies[-1]["step"] == step
        replies = (await post(url, {"sender": "web-42", "message": text})).json()
    assert replies[-1]["step"] == "confirm"
    replies = (await post(url, {"sender": "web-42", "choice": "save"})).json()
    decision = next(r["decision"] for r in replies if r["type"] == "decision")
    assert decision["outcome"] == "travel" and decision["focus_area"] == "eu"
    stored = await engine.storage.get_decision(decision["id"])
    assert stored is not None and stored.channel == "rest" and stored.user_id == "web-42"


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
async def test_a_missing_or_wrong_token_is_refused(
    server: tuple[str, Engine], token: str | None
) -> None:
    url, engine = server
    response = await post(url, {"sender": "intruder", "message": "hello"}, token=token)
    assert response.status_code == 401
    assert (
        await engine.storage.load_conversation(ConversationKey("rest", "intruder", "intruder"))
        is None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"message": "hi"},
        {"sender": "", "message": "hi"},
        {"sender": "x"},
        ["sender"],
        {"sender": "x" * 300, "message": "hi"},
    ],
)
async def test_bad_bodies_get_a_clear_400(server: tuple[str, Engine], body: object) -> None:
    url, _ = server
    response = await post(url, body)
    assert response.status_code == 400 and "error" in response.json()


DEEP = "[" * 20_000 + "]" * 20_000


@pytest.mark.parametrize(
    ("what", "content"),
    [
        ("deeply nested JSON", DEEP.encode()),
        ("deeply nested message", b'{"sender": "a", "message": ' + DEEP.encode() + b"}"),
        ("5000-digit sender", b'{"sender": ' + b"4" * 5000 + b', "message": "hi"}'),
        ("5000-digit choice", b'{"sender": "a", "choice": ' + b"4" * 5000 + b"}"),
        ("not UTF-8", b'{"sender": "a", "message": "\xff\xfe\xfd"}'),
        ("Latin-1 text", '{"sender": "a", "message": "Luleå"}'.encode("latin-1")),
        ("NaN", b'{"sender": "a", "message": NaN}'),
        ("sender a list", b'{"sender": ["a"], "message": "hi"}'),
        ("sender a bool", b'{"sender": true, "message": "hi"}'),
        ("sender only control characters", rb'{"sender": "\u0000\u001b\t", "message": "hi"}'),
        ("message a number", b'{"sender": "a", "message": 12}'),
        ("choice an object", b'{"sender": "a", "choice": {"x": 1}}'),
        ("a string", b'"hello"'),
        ("empty", b""),
    ],
)
async def test_hostile_bodies_get_400_and_a_log_line_never_500(
    server: tuple[str, Engine], what: str, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = server
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/webhooks/rest", content=content, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    print(f"tried {what}: {response.status_code} {response.json()}")
    assert response.status_code == 400 and "error" in response.json()
    refused = [r for r in caplog.records if r.name == "tripcheck.rest"]
    assert refused and all(r.exc_info is None for r in caplog.records)


@pytest.mark.parametrize(
    ("field", "value", "stored_sender"),
    [
        ("sender", "web\ud800-1", "web\ufffd-1"),
        ("message", "hej \udfff d\u00e5", "s"),
        ("choice", "trip\ud83d", "s"),
        ("message", "bell\u0007\u0000", "s"),
    ],
)
async def test_lone_surrogates_and_controls_are_cleaned_not_fatal(
    server: tuple[str, Engine], field: str, value: str, stored_sender: str
) -> None:
    url, engine = server
    body = {"sender": "s", field: value} if field != "sender" else {field: value, "message": "hi"}
    raw = json.dumps(body).encode()  # lone surrogates travel as JSON escapes
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{url}/webhooks/rest", content=raw, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert response.status_code == 200, response.text
    key = ConversationKey("rest", stored_sender, stored_sender)
    assert await engine.storage.load_conversation(key) is not None


async def test_a_body_over_the_rest_limit_is_refused_unread(server: tuple[str, Engine]) -> None:
    url, engine = server

    async def endless() -> AsyncIterator[bytes]:
        # Chunked, no Content-Length: within the server's cap, over the channel's.
        yield b'{"sender": "big", "message": "'
        for _ in range(200):
            yield b"a" * 1024

    async with httpx.AsyncClient() as client:
        declared = await post(url, {"sender": "big", "message": "a" * (rest.MAX_BODY + 1)})
        streamed = await client.post(
            f"{url}/webhooks/rest", content=endless(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert declared.status_code == 413 and streamed.status_code == 413
    key = ConversationKey("rest", "big", "big")
    assert await engine.storage.load_conversation(key) is None


async def test_every_route_has_its_body_capped_before_it_runs(rules: RuleSet) -> None:
    """The server's own cap (TRIPCHECK_MAX_BODY_BYTES) guards webhooks that read whole bodies."""
    reached: list[int] = []

    async def careless(request: Request) -> Response:
        reached.append(len(await request.body()))
        return Response("ok")

    class Careless:
        name = "careless"
        routes: ClassVar = [Route("/hook", careless, methods=["POST"])]

        async def start(self) -> None:
            return None

        async def stop(self) -> None:
            return None

    storage = await SQLiteStorage.open(":memory:")
    capped = settings(TRIPCHECK_MAX_BODY_BYTES="2048")
    app = create_app(capped, Engine(rules, storage), [Careless()])
    async with running(app) as url, httpx.AsyncClient() as client:
        small = await client.post(f"{url}/hook", content=b"s" * 2048)
        large = await client.post(f"{url}/hook", content=b"L" * 2049)
    assert small.status_code == 200 and large.status_code == 413
    assert reached == [2048]


async def test_the_rest_channel_is_off_without_a_token(rules: RuleSet) -> None:
    storage = await SQLiteStorage.open(":memory:")
    async with running(create_app(settings(), Engine(rules, storage))) as url:
        response = await post(url, {"sender": "a", "message": "hi"})
    assert response.status_code == 404


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [TRIPCHECK, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env(tmp_path / "t.db", TRIPCHECK_REST_TOKEN=TOKEN),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(200):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        reply = httpx.post(
            f"http://127.0.0.1:{port}/webhooks/rest",
            json={"sender": "s", "message": "hej"},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert reply.status_code == 200
        os.kill(process.pid, signal.SIGTERM)
        _, logs = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    lines = logs.splitlines()
    assert any('"msg": "turn"' in line and '"channel": "rest"' in line for line in lines)
    assert any('"msg": "stopped"' in line for line in lines)
    # Logs never carry what the user typed.
    assert not any("hej" in line for line in lines)


async def test_the_rest_channel_keeps_the_server_cap_and_its_routes_answers(
    rules: RuleSet,
) -> None:
    """REST's POSTs go past the middleware (a direct route): the server's own body cap still
    holds there, and other methods still get the router's answer."""
    storage = await SQLiteStorage.open(":memory:")
    capped = settings(TRIPCHECK_REST_TOKEN=TOKEN, TRIPCHECK_MAX_BODY_BYTES="2048")
    async with running(create_app(capped, Engine(rules, storage))) as url:
        within = await post(url, {"sender": "cap", "message": "hej"})
        over = await post(url, {"sender": "cap", "message": "a" * 2100})
        async with httpx.AsyncClient() as client:
            fetched = await client.get(f"{url}/webhooks/rest")
    assert within.status_code == 200 and within.json()[0]["type"] == "message"
    assert over.status_code == 413 and over.json() == {"error": "the message is too large"}
    assert fetched.status_code == 405


class LateLoader:
    """A channel that goes on loading once the server is ready (as Teams imports its SDK)."""

    name = "late"
    routes: ClassVar[list[Route]] = []

    def __init__(self) -> None:
        self.loaded = asyncio.Event()
        self.built: list[list[int]] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def warmed(self) -> None:
        await self.loaded.wait()


async def test_what_a_channel_loads_after_start_up_is_frozen_once_it_is_in(
    rules: RuleSet,
) -> None:
    gc.unfreeze()
    storage = await SQLiteStorage.open(":memory:")
    late = LateLoader()
    try:
        async with running(create_app(settings(), Engine(rules, storage), [late])) as url:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{url}/readyz")).status_code == 200
            at_start = gc.get_freeze_count()
            late.built = [[n] for n in range(10_000)]  # lists: tracked by the collector
            await asyncio.sleep(0.1)
            assert gc.get_freeze_count() < at_start + 10_000
            late.loaded.set()
            for _ in range(200):
                if gc.get_freeze_count() >= at_start + 10_000:
                    break
                await asyncio.sleep(0.01)
            assert gc.get_freeze_count() >= at_start + 10_000
    finally:
        gc.unfreeze()


async def test_serving_freezes_what_start_up_built_out_of_full_collections(
    rules: RuleSet,
) -> None:
    gc.unfreeze()
    storage = await SQLiteStorage.open(":memory:")
    try:
        async with running(create_app(settings(), Engine(rules, storage))) as url:
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"{url}/healthz")).status_code == 200
            assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
