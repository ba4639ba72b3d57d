"""The server's connection guards that a test can drive directly: the open-files limit and
the one-line report of accept() running out of file descriptors."""

from __future__ import annotations

import asyncio
import logging
import resource
import subprocess
import sys

import pytest

from tripcheck.connections import (
    ACCEPT_ERROR_LOG_SECONDS,
    RESERVED_DESCRIPTORS,
    AcceptErrorLog,
    connection_cap,
)

OUT_OF_FILES = {"message": "socket.accept() out of system resource", "exception": OSError(24)}


async def test_running_out_of_descriptors_is_one_short_line_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    handler = AcceptErrorLog(clock=lambda: now[0])
    loop = asyncio.get_running_loop()
    for _ in range(1000):
        handler(loop, OUT_OF_FILES)
    now[0] += ACCEPT_ERROR_LOG_SECONDS
    handler(loop, OUT_OF_FILES)
    lines = [r for r in caplog.records if "file descriptors" in r.getMessage()]
    assert len(lines) == 2 and all(r.exc_info is None for r in lines)
    assert lines[1].__dict__["suppressed"] == 999


async def test_other_loop_errors_are_reported_as_usual(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        AcceptErrorLog()(asyncio.get_running_loop(), {"message": "something else broke"})
    assert any("something else broke" in r.getMessage() for r in caplog.records)


def test_the_cap_stands_when_the_open_files_limit_allows_it() -> None:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert connection_cap(10) == 10
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= soft


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ((100, 4096), f"200 {200 + RESERVED_DESCRIPTORS}"),  # raised as far as needed
        ((100, 150), f"{150 - RESERVED_DESCRIPTORS} 150"),  # the hard limit: a smaller cap
    ],
)
def test_the_open_files_limit_is_raised_or_the_cap_lowered(
    limits: tuple[int, int], expected: str
) -> None:
    # In a child process: the limit of this one must stay as it is.
    program = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_NOFILE, {limits})\n"
        "from tripcheck.connections import connection_cap\n"
        "print(connection_cap(200), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert run.stdout.split("\n")[0] == expected
