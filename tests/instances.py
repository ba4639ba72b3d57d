"""Several `tripcheck serve` processes on one database, whole checks sent to them over REST,
and an audit of the database afterwards. Shared by the two-instance tests and
bench/two_instances.py.

A check is one sender's script, sent turn by turn, each turn to the next live instance in
turn (so one check's messages are split across the instances). A check whose request fails
(its instance was killed) is abandoned, as a client would give up on it; everything that was
acknowledged (a reply received) is what the audit holds the database to."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.decision_log import DecisionFilter
from bot.messages import ConversationKey
from bot.state import Answer
from bot.storage import StoredDecision
from storage import open_url
from tests.servers import free_port

REST_TOKEN = "two-instances-token"
# Columns every decision of a whole check has filled in.
FILLED_COLUMNS = (
    *("kind", "title", "department", "partner", "destination", "lang", "outcome"),
    *("rules_version", "role", "chat", "user_id", "created_at"),
)

# What the save reply told the client, as the stored decision must have it.
ACKNOWLEDGED_FIELDS = ("outcome", "focus_area", "rules_version", "lang")


def tripcheck() -> str:
    """The `tripcheck` entry point next to this interpreter."""
    return str(Path(sys.executable).with_name("tripcheck"))


def server_environment(database_url: str, places_cache: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on `database_url`: REST on, no other channel unless
    `extra` turns it on, warnings only."""
    values = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TRIPCHECK_", "SLACK_", "TELEGRAM_", "TEAMS_"))
    }
    values.update(
        TRIPCHECK_DATABASE_URL=database_url,
        TRIPCHECK_PLACES_CACHE=str(places_cache),
        TRIPCHECK_REST_TOKEN=REST_TOKEN,
        TRIPCHECK_LOG_LEVEL="warning",
        **extra,
    )
    return values


class Instance:
    """One `tripcheck serve` process on loopback."""

    def __init__(self, environment: dict[str, str], log: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [tripcheck(), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        # The server's log goes to a file (for a failing test to show), never to a pipe that
        # nobody reads and that would fill; the child keeps its own copy of the descriptor.
        self.log = log
        with contextlib.ExitStack() as files:
            output = files.enter_context(open(log, "wb")) if log else subprocess.DEVNULL
            self.process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=output
            )

    async def ready(self, seconds: float = 120) -> None:
        """Waits until /readyz answers 200; RuntimeError if the process ends or is too slow."""
        deadline = time.monotonic() + seconds
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.url} exited before it was ready: {self.output()}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.url} was not ready in {seconds} s: {self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log else ""

    def kill(self) -> None:
        """SIGKILL: no drain, no clean close of the database, as when a node dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    async def stop(self, seconds: float = 60) -> int | None:
        """SIGTERM, then waits (without blocking the event loop) until it has drained and
        ended; its exit status. A process that does not end in time is killed (status None)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + seconds
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                return None
            await asyncio.sleep(0.05)
        return self.process.returncode


async def start_instances(
    count: int, environment: dict[str, str], logs: Path | None = None
) -> list[Instance]:
    """`count` servers started together (so they also migrate together), once all are ready."""
    started = [
        Instance(environment, None if logs is None else logs / f"instance-{n}.log")
        for n in range(count)
    ]
    try:
        await asyncio.gather(*(instance.ready() for instance in started))
    except BaseException:
        await stop_all(started)
        raise
    return started


async def stop_all(instances: Sequence[Instance]) -> list[int | None]:
    return list(await asyncio.gather(*(instance.stop() for instance in instances)))


@dataclass
class CheckRun:
    """One whole check by one sender: what was acknowledged, and the decision if its save
    was."""

    sender: str
    script: list[str]
    acknowledged: list[str] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    abandoned: bool = False
    # Sent to a live instance after the check was abandoned, and acknowledged.
    follow_up: str | None = None


@dataclass
class Load:
    """Whole checks over REST, split across `urls`; latencies of acknowledged turns."""

    urls: list[str]
    scripts: list[list[str]]
    senders: int
    checks: int
    runs: list[CheckRun] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    # Replies of type "error" (storage unavailable, a bug): the turn was not applied.
    error_replies: int = 0
    failed_requests: int = 0
    # Why each failed request failed (an exception's name, or the HTTP status).
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    _dead: set[str] = field(default_factory=set)
    _turns: int = 0
    _ended: bool = False
    _waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    async def run(self, timeout: float = 60) -> None:
        """Runs every check, `senders` at a time."""
        pending = iter(range(self.checks))
        # Idle connections are dropped well before the server's keep-alive timeout (5 s), so
        # a request never goes out on a connection the server is closing at that moment.
        limits = httpx.Limits(
            max_connections=self.senders, max_keepalive_connections=self.senders, keepalive_expiry=1
        )
        headers = {"Authorization": f"Bearer {REST_TOKEN}"}
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=timeout) as client:

            async def sender() -> None:
                for number in pending:
                    await self._check(client, number)

            began = time.perf_counter()
            try:
                await asyncio.gather(*(sender() for _ in range(self.senders)))
            finally:
                self.elapsed = time.perf_counter() - began
                self._acknowledged(0, ended=True)

    async def follow_up_abandoned(self, text: str = "hej igen") -> None:
        """Sends one more message in every abandoned check's conversation, to a live instance:
        the conversation a dead instance was in the middle of goes on (its lock was freed).
        Raises if one is not answered."""
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {REST_TOKEN}"}) as client:
            for run in self.runs:
                if not run.abandoned:
                    continue
                response = await client.post(
                    f"{self._live()[0]}/webhooks/rest",
                    json={"sender": run.sender, "message": text},
                    timeout=60,
                )
                response.raise_for_status()
                replies: list[dict[str, Any]] = response.json()
                if any(reply["type"] == "error" for reply in replies):
                    raise RuntimeError(f"{run.sender}: {replies}")
                run.follow_up = text

    @property
    def acknowledged_turns(self) -> int:
        return self._turns

    async def turns_reached(self, turns: int) -> bool:
        """Waits until `turns` turns have been acknowledged (True) or the load ended before
        (False)."""
        if self._turns < turns and not self._ended:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append((turns, waiter))
            await waiter
        return self._turns >= turns

    def _live(self) -> list[str]:
        return [url for url in self.urls if url not in self._dead]

    async def _check(self, client: httpx.AsyncClient, number: int) -> None:
        run = CheckRun(f"check-{number}", self.scripts[number % len(self.scripts)])
        self.runs.append(run)
        for turn, text in enumerate(run.script):
            live = self._live()
            if not live:
                run.abandoned = True
                return
            url = live[(number + turn) % len(live)]
            started = time.perf_counter()
            try:
                response = await client.post(
                    f"{url}/webhooks/rest", json={"sender": run.sender, "message": text}
                )
            except httpx.TransportError as error:
                await self._failed(run, type(error).__name__, url)
                return
            if response.status_code != 200:
                await self._failed(run, f"HTTP {response.status_code}")
                return
            replies: list[dict[str, Any]] = response.json()
            if any(reply["type"] == "error" for reply in replies):
                self.error_replies += 1
                run.abandoned = True
                return
            self.latencies.append(time.perf_counter() - started)
            run.acknowledged.append(text)
            decisions = [reply["decision"] for reply in replies if reply["type"] == "decision"]
            if decisions:
                run.decision = decisions[-1]
            self._acknowledged()

    async def _failed(self, run: CheckRun, why: str, url: str | None = None) -> None:
        """Abandons `run`; an instance that does not answer a health check is taken out, as
        the proxy would."""
        self.failed_requests += 1
        self.failures.append(why)
        run.abandoned = True
        if url is None or url in self._dead:
            return
        try:
            async with httpx.AsyncClient(timeout=10) as probe:
                (await probe.get(f"{url}/healthz")).raise_for_status()
        except httpx.HTTPError:
            self._dead.add(url)

    def _acknowledged(self, turns: int = 1, *, ended: bool = False) -> None:
        self._turns += turns
        self._ended = self._ended or ended
        for wanted, waiter in list(self._waiters):
            if self._turns >= wanted or self._ended:
                if not waiter.done():
                    waiter.set_result(None)
                self._waiters.remove((wanted, waiter))


@dataclass
class Audit:
    """What the database holds against what clients were told."""

    decisions: int = 0
    acknowledged_decisions: int = 0
    # Acknowledged turns not in the conversation's (or its decision's) transcript, in order.
    lost_turns: int = 0
    # Acknowledged decisions not in the database, or not as acknowledged.
    lost_decisions: int = 0
    # Checks with more than one decision.
    duplicates: int = 0
    # Decisions with a column left empty or answers that do not parse.
    broken: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_turns + self.lost_decisions


async def audit(database_url: str, runs: Sequence[CheckRun]) -> Audit:
    """Holds the database to every acknowledged turn and decision of `runs`."""
    found = Audit()
    store = await open_url(database_url)
    try:
        by_sender: dict[str, list[StoredDecision]] = {}
        async for decision in store.decision_log.stream_decisions(DecisionFilter(channel="rest")):
            by_sender.setdefault(decision.user_id, []).append(decision)
            found.decisions += 1
            found.broken.extend(_broken(decision))
        found.duplicates = sum(1 for stored in by_sender.values() if len(stored) > 1)
        for run in runs:
            stored = by_sender.get(run.sender, [])
            if run.decision is not None:
                found.acknowledged_decisions += 1
                same = [d for d in stored if d.id == run.decision["id"]]
                told = [run.decision[name] for name in ACKNOWLEDGED_FIELDS]
                if not same or [getattr(same[0], name) for name in ACKNOWLEDGED_FIELDS] != told:
                    found.lost_decisions += 1
            state = await store.load_conversation(ConversationKey("rest", run.sender, run.sender))
            in_state = [] if state is None else [entry["in"] for entry in state.transcript]
            kept = [entry["in"] for entry in stored[0].transcript] if stored else in_state
            found.lost_turns += len(run.acknowledged) - _common_prefix(run.acknowledged, kept)
            if run.follow_up is not None and in_state[-1:] != [run.follow_up]:
                found.lost_turns += 1
    finally:
        await store.close()
    return found


def _broken(decision: StoredDecision) -> list[str]:
    """What is wrong with a stored decision of a whole check; empty when it is whole."""
    empty = [name for name in FILLED_COLUMNS if not getattr(decision, name)]
    wrong = [f"{decision.id}: {name} empty" for name in empty]
    if not decision.answers or not decision.reasons or not decision.transcript:
        wrong.append(f"{decision.id}: answers, reasons or transcript empty")
    for name, answer in decision.answers.items():
        try:
            Answer.model_validate(answer)
        except ValueError:
            wrong.append(f"{decision.id}: answer {name} does not parse")
    return wrong


def _common_prefix(acknowledged: list[str], kept: list[str]) -> int:
    count = 0
    for sent, stored in zip(acknowledged, kept, strict=False):
        if sent != stored:
            break
        count += 1
    return count
