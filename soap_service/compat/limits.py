"""limits' internals the rate limiter relies on, fenced in one place.

Relied on (tested in tests/compat/test_compat.py):
- `limits.aio.storage.MemoryStorage` calls its name-mangled `__schedule_expiry()` (so
  `_MemoryStorage__schedule_expiry` from a subclass) after each hit, and that coroutine starts
  a task sweeping every key. `ThrottledSweepMemoryStorage` lets subclasses decide, in
  `should_sweep()`, whether a sweep starts at all.
- `MemoryStorage`'s state: `storage` (key -> count), `expirations` (key -> epoch seconds),
  `locks` (key -> asyncio.Lock, dropped with the key). `ThrottledSweepMemoryStorage.incr`
  updates the first two as limits' `incr` does, without taking the key's lock.
- The async `RedisStorage`'s undocumented `bridge`: `prefixed_key(key)` (the Redis key limits
  uses), `lua_incr_expire.sha` and `SCRIPT_INCR_EXPIRE` (the fixed-window script), which
  ratelimit/redis_storage.py sends through the shared batcher.
"""

from __future__ import annotations

import time
from typing import Any

from limits.aio.storage import MemoryStorage

from soap_service.compat import require

TESTED_RANGE = ("5.8", "5.9")  # lowest tested, first untested
LIMITS_VERSION = require("limits", *TESTED_RANGE)

SCHEDULE_EXPIRY = "_MemoryStorage__schedule_expiry"  # MemoryStorage.__schedule_expiry, mangled
if not callable(getattr(MemoryStorage, SCHEDULE_EXPIRY, None)):  # pragma: no cover
    raise ImportError(f"limits {LIMITS_VERSION}: MemoryStorage.__schedule_expiry is gone")


class ThrottledSweepMemoryStorage(MemoryStorage):
    """limits' async memory storage whose expiry sweep runs only when `should_sweep()` says so."""

    def should_sweep(self) -> bool:
        """Whether the sweep limits schedules after a hit should start now (default: always)."""
        return True

    async def _MemoryStorage__schedule_expiry(self) -> None:  # overrides the private hook
        if self.should_sweep():
            await getattr(super(), SCHEDULE_EXPIRY)()

    async def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """limits' MemoryStorage.incr without its per-key asyncio.Lock (created and awaited
        on every hit): nothing between reading and writing the count awaits, so on the one
        event loop that uses the storage no other increment can come in between."""
        now = time.time()
        if self.expirations.get(key, 0) <= now:  # as limits' get(): an expired window goes
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            self.locks.pop(key, None)
        await self._MemoryStorage__schedule_expiry()
        count: int = self.storage.get(key, 0) + amount
        self.storage[key] = count
        if count == amount:
            self.expirations[key] = now + expiry
        return count


def redis_key(storage: Any, key: str) -> str:
    """The Redis key limits' async RedisStorage uses for a counter key (its prefix added)."""
    return str(storage.bridge.prefixed_key(key))


def incr_expire_script(storage: Any) -> tuple[str, bytes]:
    """SHA and source of the Lua script limits' async RedisStorage runs for `incr`
    (INCRBY, then EXPIRE on a new window); the storage registered it on its client."""
    bridge = storage.bridge
    source = bridge.SCRIPT_INCR_EXPIRE
    return str(bridge.lua_incr_expire.sha), source if isinstance(source, bytes) else source.encode()
