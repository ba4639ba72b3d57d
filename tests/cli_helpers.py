"""Running the real `tripcheck` command in a subprocess, as a user or automation would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

TRIPCHECK = str(Path(sys.executable).parent / "tripcheck")
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# One place-index cache for the whole suite, in the git-ignored data folder.
PLACES_CACHE = ROOT / "data" / "test-places-cache"


def env(db: Path, **extra: str) -> dict[str, str]:
    """The environment for a subprocess: its own database, the shared place cache."""
    values = dict(os.environ)
    values.update(TRIPCHECK_DB=str(db), TRIPCHECK_PLACES_CACHE=str(PLACES_CACHE), **extra)
    return values


class JsonlProcess:
    """`tripcheck chat --jsonl` as a child process, one message at a time."""

    def __init__(self, db: Path, user: str = "anna", lang: str = "sv") -> None:
        self.process = subprocess.Popen(
            [TRIPCHECK, "chat", "--jsonl", "--user", user, "--lang", lang],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env(db),
        )

    def send(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """Sends one message and reads replies until the bot waits (a question or decision)."""
        stdin: IO[str] = self.process.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(message, ensure_ascii=False) + "\n")
        stdin.flush()
        replies = []
        stdout: IO[str] = self.process.stdout  # type: ignore[assignment]
        while True:
            line = stdout.readline()
            assert line, (
                f"tripcheck ended: {self.process.stderr.read() if self.process.stderr else ''}"
            )
            reply = json.loads(line)
            replies.append(reply)
            if reply["type"] in ("question", "decision"):
                return replies

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> str:
        out, _ = self.process.communicate(timeout=30)
        return out
