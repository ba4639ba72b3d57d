"""Slow and half-open connections against `tripcheck serve`: the issue saw 276 half-sent
connections make /healthz time out for everyone and ~59,000 "Too many open files" lines in
3 s. Here the server runs with a hard limit of 256 open files; the slow-client tests use a
1 s header timeout, the crowd test a 60 s one (so only the connection cap can save /healthz)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.serve import Served, tracebacks

pytestmark = pytest.mark.faults

HALF_OPEN = 276
OPEN_FILES = 256


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(
        tmp_path_factory.mktemp("connections"),
        open_files=OPEN_FILES,
        TRIPCHECK_HEADER_TIMEOUT="1",
        TRIPCHECK_KEEP_ALIVE_TIMEOUT="1",
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(
        tmp_path_factory.mktemp("crowded"),
        open_files=OPEN_FILES,
        TRIPCHECK_HEADER_TIMEOUT="60",
        TRIPCHECK_FORWARDED_ALLOW_IPS="127.0.0.1",
    )
    try:
        yield server
    finally:
        server.stop()


def closed_by_server(connection: socket.socket, within: float = 15.0) -> bool:
    """Whether the server closes the connection (recv sees the end) within `within` s."""
    connection.settimeout(within)
    try:
        while connection.recv(4096):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True
    return True


def test_half_open_connections_do_not_starve_healthz(crowded: Served) -> None:
    served = crowded
    half_open: list[socket.socket] = []
    try:
        for number in range(HALF_OPEN):
            connection = served.connect()
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: ed")  # and never the rest
            half_open.append(connection)
            if number % 50 == 0:
                assert httpx.get(f"{served.url}/healthz", timeout=5).status_code == 200
        answers = [httpx.get(f"{served.url}/healthz", timeout=5).status_code for _ in range(20)]
    finally:
        for connection in half_open:
            connection.close()
    log = served.log()
    out_of_files = [line for line in log.splitlines() if "open files" in line.lower()]
    print(
        f"tried {HALF_OPEN} half-sent requests under a {OPEN_FILES}-file limit: "
        f"/healthz answered {answers.count(200)}/20 times 200, "
        f"{len(out_of_files)} open-files log lines"
    )
    assert answers == [200] * 20
    assert len(out_of_files) <= 3 and not tracebacks(log)


def test_the_connection_cap_is_lowered_to_fit_the_open_files_limit(crowded: Served) -> None:
    lowered = [line for line in crowded.log().splitlines() if "open-files limit" in line]
    print(f"the server said: {lowered}")
    assert lowered


@pytest.mark.parametrize(
    ("what", "first_bytes"),
    [
        ("connects and sends nothing", b""),
        ("sends half a request line", b"POST /webhooks/rest HT"),
        ("stops inside the headers", b"POST /slack/events HTTP/1.1\r\nHost: e\r\nX-Slow: "),
    ],
)
def test_a_slow_client_is_closed_after_the_header_timeout(
    served: Served, what: str, first_bytes: bytes
) -> None:
    with served.connect() as connection:
        connection.sendall(first_bytes)
        closed = closed_by_server(connection)
    print(f"tried a client that {what}: closed by the server: {closed}")
    assert closed


def test_trickled_headers_do_not_reset_the_deadline(served: Served) -> None:
    """One header byte every 0.2 s would hold a connection for ever if each byte reset it."""
    request = b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Trickle: " + b"a" * 200
    with served.connect() as connection:
        started = time.monotonic()
        sent = 0
        try:
            for byte in request:
                connection.sendall(bytes([byte]))
                sent += 1
                time.sleep(0.2)
                if time.monotonic() - started > 15:
                    break
        except OSError:
            pass
        closed = closed_by_server(connection, within=5)
    print(f"trickled {sent} header bytes at 5 a second: closed by the server: {closed}")
    assert closed and sent < len(request)


def test_an_idle_kept_alive_connection_is_closed(served: Served) -> None:
    with served.connect() as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        closed = closed_by_server(connection)
    print(f"an idle keep-alive connection: closed by the server: {closed}")
    assert closed


def test_oversize_headers_are_refused_not_buffered(served: Served) -> None:
    with served.connect() as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: edge\r\nX-Big: " + b"h" * 64 * 1024)
        connection.settimeout(10)
        try:
            answer = connection.recv(4096)
        except OSError:
            answer = b""
    print(f"tried 64 KiB of headers: {answer[:40]!r}")
    assert answer.startswith(b"HTTP/1.1 400") or answer == b""


@pytest.mark.parametrize("trusted", [False, True], ids=["by default", "from a configured proxy"])
def test_x_forwarded_for_is_believed_only_from_configured_proxies(
    served: Served, crowded: Served, trusted: bool
) -> None:
    server = crowded if trusted else served
    httpx.get(f"{server.url}/healthz", headers={"X-Forwarded-For": "203.0.113.77"})
    seen = "203.0.113.77" in server.log()
    print(f"X-Forwarded-For from loopback, {'trusted' if trusted else 'default'}: used {seen}")
    assert seen is trusted
