"""Serialized answers of the read operations, reused while the data they were built from holds.

Building a response is most of Spyne's cost per request (see docs/ARCHITECTURE.md and the
benchmark), yet a GetTravelTimes answer about one highway only changes when observations on
that highway are committed (by any process on any machine sharing the database: each batch
bumps, in its own transaction, the data version of every highway it touched, and
`store.highway_answer_version()` reads it) or when the clock moves on to the next second (asOf
is given to the second, and observations age out of the speed window with time). Entries are
therefore valid for one highway data version within one wall-clock second; a batch on highway
5 leaves the answers about highway 7 in place. Concurrent misses of one key build it once.
Only the response bytes are reused: every request still goes through the whole request path
(front door, schema validation, WS-Security, authorization, rate limits) before the runner
looks here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING

from soap_service.contract.names import READ_OPERATIONS

if TYPE_CHECKING:
    from soap_service.store.traffic_store import TrafficStore

# Operations whose answer is a pure function of their arguments and the store's data.
CACHEABLE_OPERATIONS = READ_OPERATIONS
# Keys are bounded by the contract (valid highway x direction), but a cap keeps a bug or a
# huge network from growing the dict without limit.
MAX_ENTRIES = 4096

# (operation, its arguments as the request gave them)
Key = tuple[str, tuple[str | None, ...]]


def store_key_version(store: TrafficStore) -> Callable[[Key], Awaitable[Hashable]]:
    """The version each key's answer depends on: a GetTravelTimes answer on its highway's
    data version (one single-row read: a batch on another highway leaves it valid), the
    second and the network; a ListHighways answer on the served network only."""

    async def version(key: Key) -> Hashable:
        operation, args = key
        if operation == "GetTravelTimes":
            return await store.highway_answer_version(str(args[0]))
        return ("network", store.network_version)

    return version


class ResponseCache:
    """Response bytes per (operation, arguments), each valid for the version it was built at.

    `version` is one version for every key (e.g. the store's `answer_version`); `key_version`,
    if given, is used instead and may differ per key (e.g. `store_key_version`), so a batch
    only invalidates the answers about the highways it touched. The version is read from the
    store on every lookup, so no answer older than a write acknowledged anywhere is served.
    Concurrent misses of one key at one version are built once (`answer`)."""

    def __init__(
        self,
        version: Callable[[], Awaitable[Hashable]],
        *,
        key_version: Callable[[Key], Awaitable[Hashable]] | None = None,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._version = version
        self._key_version = key_version
        self._max_entries = max_entries
        # key -> (version it was built at, body); key -> newest version a lookup saw.
        self._entries: dict[Key, tuple[Hashable, bytes]] = {}
        self._seen: dict[Key, Hashable] = {}
        self._flights: dict[tuple[Key, Hashable], asyncio.Future[bytes | None]] = {}
        self.hits = 0
        self.misses = 0
        self.shared = 0  # misses answered by another request's build (single flight)
        self.builds = 0

    async def _version_of(self, key: Key) -> Hashable:
        if self._key_version is not None:
            return await self._key_version(key)
        return await self._version()

    async def get(self, key: Key) -> bytes | None:
        """The stored answer for `key` if the data has not changed since it was built."""
        body, _ = await self.lookup(key)
        return body

    async def lookup(self, key: Key) -> tuple[bytes | None, Hashable]:
        """The stored answer (or None) and the version it was checked against."""
        version = await self._version_of(key)
        if len(self._seen) >= self._max_entries and key not in self._seen:
            self._seen.clear()
        self._seen[key] = version
        entry = self._entries.get(key)
        if entry is not None and entry[0] == version:
            self.hits += 1
            return entry[1], version
        self.misses += 1
        return None, version

    def put(self, key: Key, body: bytes, version: Hashable = None) -> None:
        """Remember `body` as the answer for `key`, built from data read after `version` was
        (from `lookup`; None: the version the last lookup of `key` saw). Dropped if a later
        lookup of `key` saw a newer version meanwhile: its data may predate that version."""
        seen = self._seen.get(key)
        if version is None:
            version = seen
        elif version != seen:
            return
        if len(self._entries) >= self._max_entries and key not in self._entries:
            self._entries.clear()
        self._entries[key] = (version, body)

    async def answer(
        self, key: Key, build: Callable[[], Awaitable[bytes]]
    ) -> tuple[bytes, str]:
        """The answer for `key` and how it was found: "hit" (stored), "shared" (another
        request was building it at the same version: awaited, not built twice) or "miss"
        (built by `build` and stored). A failed build is not shared: each waiting request
        then builds (and fails or succeeds) on its own."""
        body, version = await self.lookup(key)
        if body is not None:
            return body, "hit"
        flight = self._flights.get((key, version))
        if flight is not None:
            shared = await asyncio.shield(flight)
            if shared is not None:
                self.shared += 1
                return shared, "shared"
            return await self._build(key, version, build, register=False), "miss"
        return await self._build(key, version, build, register=True), "miss"

    async def _build(self, key: Key, version: Hashable,
                     build: Callable[[], Awaitable[bytes]], *, register: bool) -> bytes:
        """Build the answer once, letting requests that miss meanwhile wait for it."""
        flight: asyncio.Future[bytes | None] | None = None
        if register:
            flight = asyncio.get_running_loop().create_future()
            self._flights[(key, version)] = flight
        result: bytes | None = None
        try:
            self.builds += 1
            result = await build()
            self.put(key, result, version)
            return result
        finally:
            if flight is not None:
                del self._flights[(key, version)]
                flight.set_result(result)

    def clear(self) -> None:
        """Forget every stored answer (e.g. after the network was reloaded)."""
        self._entries.clear()
        self._seen.clear()
