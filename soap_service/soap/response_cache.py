"""Serialized answers of the read operations, reused while the data they were built from holds.

Building a response is most of Spyne's cost per request (see docs/ARCHITECTURE.md and the
benchmark), yet a GetTravelTimes answer only changes when observations are committed (by this
by any process on any machine sharing the database: the store's `answer_version()` reads the
data version those commits bump) or when the clock moves
on to the next second (asOf is given to the second, and observations age out of the speed
window with time). Entries are therefore valid for one data version within one wall-clock
second. Only the response bytes are reused: every request still goes through the whole
request path (front door, schema validation, WS-Security, authorization, rate limits) before
the runner looks here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable

# Operations whose answer is a pure function of their arguments and the store's data.
CACHEABLE_OPERATIONS = frozenset({"GetTravelTimes", "ListHighways"})
# Keys are bounded by the contract (valid highway x direction), but a cap keeps a bug or a
# huge network from growing the dict without limit.
MAX_ENTRIES = 4096

# (operation, its arguments as the request gave them)
Key = tuple[str, tuple[str | None, ...]]


class ResponseCache:
    """Response bytes per (operation, arguments), for the current data version only."""

    def __init__(
        self, version: Callable[[], Awaitable[Hashable]], *, max_entries: int = MAX_ENTRIES
    ) -> None:
        self._version = version
        self._max_entries = max_entries
        self._seen: Hashable = None
        self._entries: dict[Key, bytes] = {}
        self.hits = 0
        self.misses = 0

    async def get(self, key: Key) -> bytes | None:
        """The stored answer for `key` if the data has not changed since it was built."""
        body, _ = await self.lookup(key)
        return body

    async def lookup(self, key: Key) -> tuple[bytes | None, Hashable]:
        """The stored answer (or None) and the data version it was checked against.

        The version is read from the store on every call (one single-row query), so an
        answer older than a write acknowledged anywhere is never served."""
        version = await self._version()
        if version != self._seen:
            # New observations or a new second: every stored answer is out of date.
            self._entries.clear()
            self._seen = version
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
        else:
            self.hits += 1
        return body, version

    def put(self, key: Key, body: bytes, version: Hashable = None) -> None:
        """Remember `body` as the answer for `key`, built from data read after `version` was
        (from `lookup`). Dropped if the version has moved on meanwhile: other requests ran
        while this one awaited the database, and its data may predate their version."""
        if version is not None and version != self._seen:
            return
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = body

    def clear(self) -> None:
        """Forget every stored answer (e.g. after the network was reloaded)."""
        self._entries.clear()
        self._seen = None
