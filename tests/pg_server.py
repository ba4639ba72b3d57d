"""A throwaway PostgreSQL server for the test run (and the benchmarks): Debian's initdb and
postgres, run as an unprivileged user (initdb refuses root), listening only on a Unix socket in
a temp folder."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

TEST_USER = "tripcheck-test"


def binaries() -> Path | None:
    """The folder with initdb and postgres, newest version first; None if not installed."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "initdb").exists():
            return Path(folder)
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _server_user() -> str | None:
    """The user the server runs as: the current one, or (for root) an unprivileged one."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
            check=True,
        )
    return TEST_USER


class PostgresServer:
    """One running server; `new_database()` gives each test a database of its own."""

    def __init__(self, bin_dir: Path) -> None:
        self._bin = bin_dir
        self._user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="tripcheck-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        if self._user is not None:
            entry = pwd.getpwnam(self._user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)

    def _run_as(self, command: list[str]) -> list[str]:
        return command if self._user is None else ["runuser", "-u", self._user, "--", *command]

    def start(self) -> None:
        subprocess.run(
            self._run_as(
                [
                    str(self._bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self._process = subprocess.Popen(
            self._run_as(
                [
                    str(self._bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-k",
                    str(self.socket_dir),
                    "-c",
                    "listen_addresses=",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                ]
            ),
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "server.log", "wb"),  # noqa: SIM115 - lives with the server
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url("postgres"), autocommit=True):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError((self.root / "server.log").read_text()) from None
                time.sleep(0.1)

    def url(self, database: str) -> str:
        """A URL for `database` on this server's socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        name = f"test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on a server of its own, stopped and deleted afterwards; its URL.
    RuntimeError if PostgreSQL is not installed."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL binaries (initdb) found: apt-get install postgresql")
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server.new_database()
    finally:
        server.stop()
