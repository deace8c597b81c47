"""Replay cache: remembers (username, nonce) pairs so a captured message cannot be sent twice."""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from soap_service.state.health import StateHealth
from soap_service.state.redisconn import REDIS_ERRORS, is_redis_url

if TYPE_CHECKING:
    from soap_service.state.batcher import RedisBatcher

log = logging.getLogger("highway.state")
DEFAULT_REPLAY_ENTRIES = 900_000


def replay_table_bytes(max_entries: int) -> int:
    """Memory the in-process cache holds for `max_entries`: two tables of 8-byte slots, each
    the power of two at or above twice the entries (at most half full)."""
    return 2 * 8 * (1 << max(4, (2 * max(max_entries, 1) - 1).bit_length()))


class StateUnavailable(Exception):
    """Shared state cannot be reached; callers that protect security must fail closed."""


class ReplayCache(Protocol):
    """Atomic first-seen check with expiry. Implementations: memory (one process), Redis."""

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """Record `key` for `ttl_seconds`; True if it was new, False if already seen.

        Raises StateUnavailable when the store cannot answer (never guess "new")."""
        ...


class MemoryReplayCache:
    """A bounded in-process replay cache whose memory does not grow with load.

    Keys are kept as 64-bit keyed hashes in two open-addressing tables of fixed size (arrays
    of 8-byte slots, no Python object per entry): the current generation takes new keys, the
    previous one is still checked, and every `window` seconds the previous one is dropped.
    A key therefore lives between one and two windows: at least the ttl asked for. The hash
    key is random per process, so nobody can aim for a collision; an accidental one (odds
    about entries / 2**64) would refuse one genuine message, never admit a replay.
    More than `max_entries` new keys in one window fail closed (StateUnavailable) rather than
    evicting live ones, which would let a replay through.
    """

    MAX_PROBES = 64

    def __init__(self, max_entries: int = DEFAULT_REPLAY_ENTRIES,
                 clock: Callable[[], float] = time.monotonic):
        self._max = max_entries
        # At most half full, so probe sequences stay short (about 2 probes on average).
        self._size = replay_table_bytes(max_entries) // 16
        self._mask = self._size - 1
        self._clock = clock
        self._hash_key = secrets.token_bytes(16)
        self._window = 0.0
        self._started = clock()
        self._current: array[int] | None = None
        self._previous: array[int] | None = None
        self._count = 0  # keys in the current generation
        self.full_refusals = 0  # requests refused because the cache was full (a metric)
        self._full_logged = False  # one warning per window, not one per refused request

    def _hash(self, key: str) -> int:
        digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8, key=self._hash_key).digest()
        return int.from_bytes(digest, "little") or 1  # 0 marks an empty slot

    def _rotate(self, now: float, ttl_seconds: float) -> None:
        self._window = max(self._window, ttl_seconds)
        if self._current is None:
            self._current = array("Q", bytes(8 * self._size))
            self._started = now
        elif now - self._started >= self._window:
            # Two windows gone: both generations are older than any ttl; else shift by one.
            stale = now - self._started >= 2 * self._window
            self._previous = None if stale else self._current
            self._current = array("Q", bytes(8 * self._size))
            self._count = 0
            self._started = now
            self._full_logged = False

    def _slot(self, table: array[int], hashed: int) -> tuple[int, bool]:
        """(index, found): where `hashed` is, or the empty slot where it would go (-1: none)."""
        index, step = hashed & self._mask, ((hashed >> 32) | 1) & self._mask
        for _ in range(self.MAX_PROBES):
            value = table[index]
            if value == hashed:
                return index, True
            if value == 0:
                return index, False
            index = (index + step) & self._mask
        return -1, False

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """See ReplayCache.first_seen."""
        now = self._clock()
        self._rotate(now, ttl_seconds)
        hashed = self._hash(key)
        if self._previous is not None and self._slot(self._previous, hashed)[1]:
            return False
        current = self._current
        assert current is not None
        index, found = self._slot(current, hashed)
        if found:
            return False
        if index < 0 or self._count >= self._max:
            self.full_refusals += 1
            if not self._full_logged:
                self._full_logged = True
                log.warning(
                    "replay cache full (%d nonces in the last %.0f s, --replay-cache-entries %d): "
                    "WS-Security requests get 503 Server.Unavailable until the window turns; "
                    "raise --replay-cache-entries or use --state-url redis://",
                    self._count, self._window, self._max)
            raise StateUnavailable("replay cache is full")
        current[index] = hashed
        self._count += 1
        return True

    def __len__(self) -> int:
        """Keys remembered now (both generations)."""
        previous = self._previous
        older = 0 if previous is None else self._size - previous.count(0)
        return self._count + older

    @property
    def capacity(self) -> int:
        """New keys accepted per window before the cache refuses."""
        return self._max


class RedisReplayCache:
    """A replay cache shared by every process using one Redis: SET key NX EX is atomic, so two
    processes receiving the same nonce cannot both see it as new. Fails closed: any Redis
    error (or Redis already known down) raises StateUnavailable. The SET goes through the
    process's batcher, so concurrent requests share one pipeline round trip."""

    def __init__(
        self, batcher: RedisBatcher, health: StateHealth, prefix: str = "highway:replay:"
    ) -> None:
        self._batcher = batcher
        self._health = health
        self._prefix = prefix

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """See ReplayCache.first_seen."""
        if not self._health.redis_available:
            # Refuse at once instead of paying a connect timeout per request during an outage.
            raise StateUnavailable("redis is unavailable")
        # Whole milliseconds, at least one, so a short window never becomes "no expiry".
        ttl_ms = max(1, math.ceil(ttl_seconds * 1000))
        try:
            created = await self._batcher.execute(
                "SET", self._prefix + key, b"1", "PX", ttl_ms, "NX"
            )
        except REDIS_ERRORS as exc:
            self._health.report_failure(exc, "replay check")
            raise StateUnavailable("redis is unavailable") from exc
        return bool(created)


def replay_cache_for(
    url: str, batcher: RedisBatcher | None, health: StateHealth,
    max_entries: int = DEFAULT_REPLAY_ENTRIES,
) -> ReplayCache:
    """The replay cache the state URL asks for: Redis (shared) or memory (this process)."""
    if is_redis_url(url):
        if batcher is None:
            raise ValueError("a redis state URL needs a redis batcher")
        return RedisReplayCache(batcher, health)
    return MemoryReplayCache(max_entries)
