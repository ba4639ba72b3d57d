"""`tripcheck serve` in a subprocess, every channel on with test credentials and every
platform API on a dead loopback port, for attacks from outside: raw sockets, its memory read
from /proc, its log (stderr) kept for checking."""

from __future__ import annotations

import resource
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.cli_helpers import TRIPCHECK, env
from tests.servers import free_port

REST_TOKEN = "rest-token-for-fault-tests"
SLACK_SECRET = "slack-signing-secret-for-fault-tests"
TELEGRAM_SECRET = "telegram-secret-for-fault-tests"
WEBHOOKS = ("/webhooks/rest", "/slack/events", "/telegram/webhook", "/api/messages")


class Served:
    """One `tripcheck serve` process on 127.0.0.1."""

    def __init__(self, tmp: Path, open_files: int | None = None, **settings: str) -> None:
        self.port = free_port()
        dead = f"http://127.0.0.1:{free_port()}"
        self.log_path = tmp / "serve.log"
        values = {
            "TRIPCHECK_REST_TOKEN": REST_TOKEN,
            "SLACK_BOT_TOKEN": "xoxb-fault-tests",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": f"{dead}/api/",
            "TELEGRAM_BOT_TOKEN": "123:fault-tests",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "TELEGRAM_API_URL": dead,
            "TEAMS_CLIENT_ID": "00000000-0000-0000-0000-00000000fa17",
            "TEAMS_CLIENT_SECRET": "teams-secret-for-fault-tests",
            **settings,
        }
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [TRIPCHECK, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env(tmp / "serve.db", **values),
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=_open_files_limit(open_files) if open_files else None,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        for _ in range(400):
            if self.process.poll() is not None:
                raise RuntimeError(f"tripcheck serve ended: {self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"tripcheck serve did not start: {self.log()}")

    def memory_kib(self, field: str = "VmHWM") -> int:
        """A memory figure of the process from /proc (VmHWM: its peak resident size)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith(field + ":"))
        return int(line.split()[1])

    def reset_peak(self) -> int:
        """Resets the peak (Linux: 5 > clear_refs) and returns the resident size now, KiB."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")
        return self.memory_kib("VmRSS")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()


def _open_files_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


def tracebacks(log: str) -> list[str]:
    """The log lines that carry a traceback (our JSON logs put it in "error")."""
    return [line for line in log.splitlines() if "Traceback" in line]
