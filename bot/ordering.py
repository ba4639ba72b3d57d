"""Keeping one conversation's work in order while different conversations run side by side."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar
from weakref import WeakValueDictionary

K = TypeVar("K", bound=Hashable)


class KeyedLocks(Generic[K]):
    """One asyncio.Lock per key, forgotten once nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[K, asyncio.Lock] = WeakValueDictionary()

    def __call__(self, key: K) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock


class OrderedTasks(Generic[K]):
    """Background work that runs after the earlier work of the same key (a chat, a user)."""

    def __init__(self) -> None:
        self._latest: dict[K, asyncio.Task[None]] = {}
        self._running: set[asyncio.Task[None]] = set()

    def submit(self, key: K, work: Callable[[], Awaitable[None]]) -> None:
        """Starts `work` once the key's previous work has finished."""
        task = asyncio.create_task(self._after(self._latest.get(key), work))
        self._latest[key] = task
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(key, done))

    async def wait(self, timeout: float) -> None:
        """Waits (at most `timeout` seconds) for the work still running."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)

    def _finished(self, key: K, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._latest.get(key) is task:
            del self._latest[key]

    @staticmethod
    async def _after(
        previous: asyncio.Task[None] | None, work: Callable[[], Awaitable[None]]
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        await work()
