"""The jsonl channel (`tripcheck chat --jsonl`) against hostile lines, from outside and under
LC_ALL=C without Python's UTF-8 mode: each hostile line gets one `error` line and the chat
goes on. The issue saw it exit on one deeply nested line, a 5000-digit integer, and under
LC_ALL=C on its first reply. Then 10,000 seeded hostile lines in-process."""

from __future__ import annotations

import collections
import json
import logging
import subprocess
from pathlib import Path

import pytest

from adapters import jsonl
from bot.engine import Engine
from bot.messages import ConversationKey
from tests.cli_helpers import TRIPCHECK, env
from tests.faults.hostile import SEED, hostile_bodies

pytestmark = pytest.mark.faults

HOSTILE_LINES = {
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "deeply nested text": b'{"text": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "5000-digit choice": b'{"choice": ' + b"7" * 5000 + b"}",
    "5000-digit text": b'{"text": ' + b"7" * 5000 + b"}",
    "not UTF-8": b'{"text": "\xff\xfe"}',
    "UTF-8-encoded surrogate": b'{"text": "\xed\xa0\x80"}',
    "Latin-1": '{"text": "Luleå"}'.encode("latin-1"),
    "NaN": b'{"text": NaN}',
    "not an object": b"[1, 2, 3]",
    "wrong types": b'{"text": ["a"], "choice": {"b": 1}}',
    "truncated": b'{"text": "he',
    "two megabytes on one line": b'{"text": "' + b"a" * (2 * 1024 * 1024) + b'"}',
}
LOCALES = {
    "C, no UTF-8 mode": {"LC_ALL": "C", "PYTHONUTF8": "0", "LANG": "C"},
    "POSIX with ASCII I/O asked for": {"LC_ALL": "POSIX", "PYTHONIOENCODING": "ascii"},
}


@pytest.mark.parametrize("locale", LOCALES, ids=list(LOCALES))
def test_every_hostile_line_gets_one_error_line_in_any_locale(tmp_path: Path, locale: str) -> None:
    lines = [*HOSTILE_LINES.values(), rb'{"text": "hej \ud800 d\u00e5"}']
    run = subprocess.run(
        [TRIPCHECK, "chat", "--jsonl", "--user", "fuzz", "--lang", "sv"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env=env(tmp_path / "t.db", **LOCALES[locale]),
        timeout=60,
    )
    replies = [json.loads(line) for line in run.stdout.decode("utf-8").splitlines()]
    errors = replies[: len(HOSTILE_LINES)]
    rest = replies[len(HOSTILE_LINES) :]
    print(
        f"tried {len(HOSTILE_LINES)} hostile lines under {locale}: exit {run.returncode}, "
        f"{sum(r['type'] == 'error' for r in errors)} error lines, then {[r['type'] for r in rest]}"
    )
    assert run.returncode == 0 and b"Traceback" not in run.stderr, run.stderr.decode()[-2000:]
    assert [r["type"] for r in errors] == ["error"] * len(HOSTILE_LINES)
    # The line with a lone surrogate is cleaned and answered; Swedish replies come out whole.
    assert [r["type"] for r in rest] == ["message", "question"]
    assert any("å" in r.get("text", "") or "ä" in r.get("text", "") for r in rest)


COUNT = 10_000


async def test_ten_thousand_hostile_lines_in_process(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    key = ConversationKey("terminal", "fuzz", "fuzz")
    kinds: collections.Counter[str] = collections.Counter()
    for body in hostile_bodies(COUNT, text_field="text"):
        line = body.decode("utf-8", errors="surrogateescape").strip()
        if not line or "\n" in line:
            continue  # run() never passes these: it reads one stripped line at a time
        replies = await jsonl.handle_line(engine, key, line, None)
        assert replies
        for reply in replies:
            json.dumps(reply, ensure_ascii=False).encode("utf-8")  # always printable
        kinds[replies[-1]["type"]] += 1
    with_traceback = [r for r in caplog.records if r.exc_info is not None]
    print(f"tried {COUNT} hostile lines (seed {SEED}) in-process: last replies {dict(kinds)}")
    assert not with_traceback, [r.getMessage() for r in with_traceback[:5]]
    assert sum(kinds.values()) > COUNT * 0.9
