"""Replay cache: remembers (username, nonce) pairs so a captured message cannot be sent twice."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from soap_service.state.health import StateHealth
from soap_service.state.redisconn import REDIS_ERRORS, is_redis_url

if TYPE_CHECKING:
    from redis.asyncio import Redis


class StateUnavailable(Exception):
    """Shared state cannot be reached; callers that protect security must fail closed."""


class ReplayCache(Protocol):
    """Atomic first-seen check with expiry. Implementations: memory (one process), Redis."""

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """Record `key` for `ttl_seconds`; True if it was new, False if already seen.

        Raises StateUnavailable when the store cannot answer (never guess "new")."""
        ...


class MemoryReplayCache:
    """A bounded in-process replay cache. When full, it refuses new keys rather than evicting
    live ones (evicting would let a replay through), so a flood fails closed."""

    def __init__(self, max_entries: int = 900_000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._max = max_entries
        self._clock = clock

    def _expire(self, now: float) -> None:
        # Entries are kept in expiry order only when ttls are equal; scan from the oldest and
        # stop at the first live one, which is exact for the single window the verifier uses.
        while self._entries:
            key, expires = next(iter(self._entries.items()))
            if expires > now:
                break
            del self._entries[key]

    async def first_seen(self, key: str, ttl_seconds: float) -> bool:
        """See ReplayCache.first_seen."""
        now = self._clock()
        self._expire(now)
        expires = self._entries.get(key)
        if expires is not None and expires > now:
            return False
        if len(self._entries) >= self._max:
            raise StateUnavailable("replay cache is full")
        self._entries[key] = now + ttl_seconds
        return True

    def __len__(self) -> int:
        return len(self._entries)


class RedisReplayCache:
    """A replay cache shared by every process using one Redis: SET key NX EX is atomic, so two
    processes receiving the same nonce cannot both see it as new. Fails closed: any Redis
    error (or Redis already known down) raises StateUnavailable."""

    def __init__(
        self, client: Redis, health: StateHealth, prefix: str = "highway:replay:"
    ) -> None:
        self._client = client
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
            created = await self._client.set(self._prefix + key, b"1", nx=True, px=ttl_ms)
        except REDIS_ERRORS as exc:
            self._health.report_failure(exc, "replay check")
            raise StateUnavailable("redis is unavailable") from exc
        return bool(created)


def replay_cache_for(url: str, client: Redis | None, health: StateHealth) -> ReplayCache:
    """The replay cache the state URL asks for: Redis (shared) or memory (this process)."""
    if is_redis_url(url):
        if client is None:
            raise ValueError("a redis state URL needs a redis client")
        return RedisReplayCache(client, health)
    return MemoryReplayCache()
