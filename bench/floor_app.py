"""The floor for bench/http.py: parse JSON, one SQLite write in WAL mode, reply.

Run by the benchmark as `uvicorn floor_app:app --app-dir bench`, with FLOOR_DB naming the
SQLite file. The write is a transaction like a turn's: the sender's state, upserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_conn = sqlite3.connect(os.environ.get("FLOOR_DB", "floor.db"), check_same_thread=False)
_conn.execute("PRAGMA journal_mode = WAL")
_conn.execute("PRAGMA synchronous = NORMAL")
_conn.execute("CREATE TABLE IF NOT EXISTS turns (sender TEXT PRIMARY KEY, state TEXT)")
# One writer thread, as Tripcheck's SQLite store has.
_writer = ThreadPoolExecutor(max_workers=1)


def _write(sender: str, state: str) -> None:
    with _conn:
        _conn.execute(
            "INSERT INTO turns VALUES (?, ?) ON CONFLICT (sender) DO UPDATE SET state = ?",
            [sender, state, state],
        )


async def turn(request: Request) -> JSONResponse:
    data = json.loads(await request.body())
    state = json.dumps({"last": data["message"]})
    await asyncio.get_running_loop().run_in_executor(_writer, _write, data["sender"], state)
    return JSONResponse([{"type": "text", "text": data["message"]}])


async def ready(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ready"})


app = Starlette(routes=[Route("/turn", turn, methods=["POST"]), Route("/readyz", ready)])
