"""One `limits` storage plus strategy, answering "may this caller go on, and what is left?"."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any, cast

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import STRATEGIES, RateLimiter
from limits.storage import storage_from_string

from soap_service.compat.limits import ThrottledSweepMemoryStorage
from soap_service.ratelimit.redis_storage import BatchedRedisStorage
from soap_service.state.batcher import RedisBatcher
from soap_service.state.redisconn import SOCKET_TIMEOUT_SECONDS


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one hit: allowed or not, and the numbers for the RateLimit headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # epoch seconds when the window frees up
    shared: bool  # True when counted in Redis (global), False per process

    def reset_after(self, now: float | None = None) -> int:
        """Whole seconds until the window resets (at least 1: clients must wait, not spin)."""
        now = time.time() if now is None else now
        return max(1, math.ceil(self.reset_at - now))


class SweepingMemoryStorage(ThrottledSweepMemoryStorage):
    """limits' async memory storage, sweeping expired keys at most once a second.

    limits 5.8.0 schedules a sweep task over *every* key after each hit once the previous one
    finished, so with many live keys (a flood from many IPs) each request paid a full scan:
    ~850 µs per request at 10,000 keys, measured here. Throttling the private scheduler (see
    compat/limits.py) keeps expiry (get() also drops expired keys lazily) while bounding the
    cost."""

    SWEEP_INTERVAL_SECONDS = 1.0

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        self._next_sweep = 0.0  # set first: the base class schedules a sweep on construction
        super().__init__(uri, **options)

    def should_sweep(self) -> bool:
        """At most one sweep per SWEEP_INTERVAL_SECONDS."""
        now = time.monotonic()
        if now < self._next_sweep:
            return False
        self._next_sweep = now + self.SWEEP_INTERVAL_SECONDS
        return True


def make_storage(
    state_url: str, connection_pool: Any = None, batcher: RedisBatcher | None = None
) -> Storage:
    """The async `limits` storage for a state URL: memory:// or redis[s]://, by scheme.

    With a batcher (the process's shared state), counters go through it: concurrent requests
    then share pipeline round trips with each other and with the replay cache."""
    if state_url.startswith("memory://"):
        return SweepingMemoryStorage()
    options: dict[str, Any] = {}
    if connection_pool is not None:
        options["connection_pool"] = connection_pool  # share the state client's pool
    else:
        options["socket_timeout"] = SOCKET_TIMEOUT_SECONDS
        options["socket_connect_timeout"] = SOCKET_TIMEOUT_SECONDS
    if batcher is not None:
        return BatchedRedisStorage("async+" + state_url, batcher, **options)
    storage = storage_from_string("async+" + state_url, implementation="redispy", **options)
    assert isinstance(storage, Storage)
    return storage


class Counter:
    """Counts hits for keys on one storage with one strategy (chosen by name, as limits does)."""

    # Fixed-window reset times this process has learnt; cleared when full (only costs lookups).
    MAX_KNOWN_RESETS = 50_000

    def __init__(self, storage: Storage, strategy: str, *, shared: bool) -> None:
        self.storage = storage
        self.shared = shared
        factory = cast(Callable[[Storage], RateLimiter], STRATEGIES[strategy])
        self._limiter = factory(storage)
        self._fixed = strategy == "fixed-window"
        self._resets: dict[str, float] = {}
        # (id(item), identifiers) -> (item, key); by identity: RateLimitItem's equality ignores
        # the namespace, which is part of the key. Holding the item keeps its id unique.
        self._keys: dict[tuple[int, tuple[str, ...]], tuple[RateLimitItem, str]] = {}

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Decision:
        """Consume one unit of `item` for `identifiers`; never raises for "over the limit"."""
        if self._fixed:
            count, reset_at = await self._fixed_window(item, self._key(item, identifiers))
            remaining = max(0, item.amount - count)
            return Decision(count <= item.amount, item.amount, remaining, reset_at, self.shared)
        allowed = await self._limiter.hit(item, *identifiers)
        stats = await self._limiter.get_window_stats(item, *identifiers)
        return Decision(allowed, item.amount, max(0, stats.remaining), stats.reset_time,
                        self.shared)

    def _key(self, item: RateLimitItem, identifiers: tuple[str, ...]) -> str:
        """item.key_for(*identifiers), remembered: the same callers come back every request."""
        known = self._keys.get((id(item), identifiers))
        if known is not None and known[0] is item:
            return known[1]
        if len(self._keys) >= self.MAX_KNOWN_RESETS:
            self._keys.clear()
        key = item.key_for(*identifiers)
        self._keys[(id(item), identifiers)] = (item, key)
        return key

    async def _fixed_window(self, item: RateLimitItem, key: str) -> tuple[int, float]:
        """limits' FixedWindowRateLimiter.hit (storage.incr), keeping the count it drops.

        One Redis round trip per request: the window's end is fixed once it starts, so it is
        learnt when this process starts the window (count == 1) or by one TTL lookup, then
        reused. limits' get_window_stats would cost two more round trips on every request."""
        expiry = item.get_expiry()
        count = await self.storage.incr(key, expiry)
        now = time.time()
        if count == 1:
            reset_at = now + expiry
        else:
            known = self._resets.get(key)
            if known is not None and known > now:
                return count, known
            reset_at = await self.storage.get_expiry(key)
            if reset_at <= now:  # expired between the two calls: a new window starts now
                reset_at = now + expiry
        if len(self._resets) >= self.MAX_KNOWN_RESETS:
            self._resets.clear()
        self._resets[key] = reset_at
        return count, reset_at
