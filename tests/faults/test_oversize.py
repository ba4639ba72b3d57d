"""Oversize bodies on every webhook, against `tripcheck serve` from outside: refused with 413
before they are read, and the server's peak memory (VmHWM) stays bounded. The issue saw one
unsigned 200 MB POST to /slack/events raise it by 378 MB, five at once by 1.4 GB."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.serve import REST_TOKEN, WEBHOOKS, Served, tracebacks

pytestmark = pytest.mark.faults

ATTACK_BYTES = 200 * 1024 * 1024
CHUNK = 256 * 1024
# The server's peak may grow by this much over all the attacks (the cap is 1 MiB a request).
MAX_GROWTH_KIB = 24 * 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("oversize"))
    try:
        # Warm up: every route once, and a whole REST turn, so lazy imports are done.
        with httpx.Client(base_url=server.url) as client:
            for path in WEBHOOKS:
                client.post(path, content=b"{}")
            client.post(
                "/webhooks/rest",
                json={"sender": "warm", "message": "hej"},
                headers={"Authorization": f"Bearer {REST_TOKEN}"},
            )
        yield server
    finally:
        server.stop()


def status_of(connection: socket.socket) -> int | None:
    """The status code the server answered with, None if it closed without one."""
    try:
        head = connection.recv(4096)
    except OSError:
        return None
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else None


def declared(server: Served, path: str) -> tuple[int | None, int]:
    """Says Content-Length: 200 MB, then sends until the server stops reading."""
    with server.connect() as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
            f"Content-Length: {ATTACK_BYTES}\r\n\r\n".encode()
        )
        status = status_of(connection)
        return status, send_until_refused(connection)


def chunked(server: Served, path: str) -> tuple[int | None, int]:
    """Sends a chunked body (no length) of up to 200 MB, until the server stops reading."""
    with server.connect() as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        chunk = f"{CHUNK:x}\r\n".encode() + b"[" * CHUNK + b"\r\n"
        sent = send_until_refused(connection, chunk)
        return status_of(connection), sent


def send_until_refused(connection: socket.socket, chunk: bytes = b"[" * CHUNK) -> int:
    connection.settimeout(5)
    sent = 0
    try:
        while sent < ATTACK_BYTES:
            connection.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # the server closed the connection: what we want
    return sent


@pytest.mark.parametrize("path", WEBHOOKS)
@pytest.mark.parametrize("attack", [declared, chunked], ids=["declared", "chunked"])
def test_an_oversize_body_is_refused_before_it_is_read(
    served: Served, path: str, attack: object
) -> None:
    before = served.reset_peak()
    status, sent = attack(served, path)  # type: ignore[operator]
    growth = served.memory_kib() - before
    print(
        f"tried {attack.__name__} 200 MB POST to {path}: status {status}, "  # type: ignore[attr-defined]
        f"{sent / 2**20:.1f} MiB sent before the server stopped reading, peak +{growth} KiB"
    )
    assert status in (413, None)  # None: the reset came before we could read the answer
    assert sent < ATTACK_BYTES, "the server read the whole body"
    assert growth < MAX_GROWTH_KIB


def test_five_oversize_bodies_at_once_keep_memory_bounded(served: Served) -> None:
    before = served.reset_peak()
    results: list[tuple[int | None, int]] = []
    attackers = [
        threading.Thread(target=lambda p=path: results.append(chunked(served, p)))
        for path in ("/slack/events",) * 5
    ]
    for attacker in attackers:
        attacker.start()
    for attacker in attackers:
        attacker.join(timeout=60)
    growth = served.memory_kib() - before
    print(f"tried 5 chunked 200 MB POSTs to /slack/events at once: {results}, peak +{growth} KiB")
    assert len(results) == 5 and all(sent < ATTACK_BYTES for _, sent in results)
    assert growth < MAX_GROWTH_KIB
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_the_log_has_short_lines_and_no_tracebacks(served: Served) -> None:
    log = served.log()
    refused = [line for line in log.splitlines() if "request refused" in line]
    print(f"{len(refused)} refusal lines, e.g. {refused[:1]}")
    assert refused and not tracebacks(log)
