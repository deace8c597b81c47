"""Concurrent reads of one small value share database round trips, and each caller still gets
a value read after it asked (so no answer predates a write acknowledged before the request).

Why: every cached read checks its highway's data version in the store (response_cache.py);
on SQLite that is a hop to a reader thread and back per request. Under load many requests
ask for the same version at once; one read can answer them all, provided it starts after
each of them asked: a read already running may have looked before a write that a waiting
caller knows was acknowledged, so callers arriving meanwhile wait for the next read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class FreshRead(Generic[K, V]):
    """`await read(key)`: `fetch(key)` run at most once at a time per key; every caller gets
    the result of a fetch that started after its call."""

    def __init__(self, fetch: Callable[[K], Awaitable[V]]) -> None:
        self._fetch = fetch
        self._waiting: dict[K, asyncio.Future[V]] = {}  # callers for the next fetch
        self._running: set[K] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.fetches = 0  # round trips made (callers / fetches = how much was shared)
        self.calls = 0

    async def __call__(self, key: K) -> V:
        """The value of `key`, read after this call began."""
        self.calls += 1
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # reads of a finished loop (tests run several) are gone
            self._loop, self._waiting, self._running = loop, {}, set()
        waiting = self._waiting.get(key)
        if waiting is None:
            waiting = self._waiting[key] = loop.create_future()
            waiting.add_done_callback(_retrieve)  # every caller may have gone meanwhile
            if key not in self._running:
                self._start(key)
        # A caller that goes away (its client disconnected) must not cancel the others' read.
        return await asyncio.shield(waiting)

    def _start(self, key: K) -> None:
        """Schedule the fetch that answers everyone waiting for `key` when it begins."""
        self._running.add(key)
        self.fetches += 1
        asyncio.ensure_future(self._run(key))

    async def _run(self, key: K) -> None:
        # Taken when the fetch begins, not when it was scheduled: callers who came in between
        # asked before this read looks, so it answers them too.
        waiting = self._waiting.pop(key)
        try:
            value = await self._fetch(key)
        except asyncio.CancelledError:
            waiting.cancel()
            raise
        except BaseException as exc:  # noqa: BLE001 - each waiter gets the store's error
            waiting.set_exception(exc)
        else:
            waiting.set_result(value)
        finally:
            self._running.discard(key)
            if key in self._waiting:  # callers came while this fetch ran: read again for them
                self._start(key)


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark an error as seen, so a read nobody awaits any more logs no warning."""
    if not future.cancelled():
        future.exception()
