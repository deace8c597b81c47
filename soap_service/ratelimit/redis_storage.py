"""limits' async Redis storage with the fixed-window commands sent through our batcher."""

from __future__ import annotations

import time
from typing import Any

from limits.aio.storage import RedisStorage
from redis.exceptions import NoScriptError

from soap_service.compat import limits as limits_compat
from soap_service.state.batcher import RedisBatcher


class BatchedRedisStorage(RedisStorage):
    """The same keys, Lua script and replies as limits' redispy storage, so strategies and
    other processes see no difference; incr/get/get_expiry/clear (all the fixed-window
    strategy uses) go through the shared batcher instead of one redis-py call each.

    The moving- and sliding-window methods are inherited unchanged: they run on limits' own
    client, built over the state client's connection pool. No STORAGE_SCHEME: it is built
    directly by make_storage, never selected from a URI, so async+redis:// keeps meaning
    limits' own class."""

    def __init__(self, uri: str, batcher: RedisBatcher, **options: Any) -> None:
        super().__init__(uri, implementation="redispy", **options)
        self._batcher = batcher
        # limits registered the script on its client; we only need its SHA and source.
        self._incr_sha, self._incr_source = limits_compat.incr_expire_script(self)

    def _key(self, key: str) -> str:
        return limits_compat.redis_key(self, key)

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """INCRBY and, on a new window, EXPIRE: limits' incr_expire script, by SHA."""
        args = (1, self._key(key), expiry, amount)
        try:
            return int(await self._batcher.execute("EVALSHA", self._incr_sha, *args))
        except NoScriptError:
            # First use on this Redis (or after a restart/SCRIPT FLUSH): EVAL loads it too.
            return int(await self._batcher.execute("EVAL", self._incr_source, *args))

    async def get(self, key: str) -> int:
        """The counter's value (0 when absent)."""
        return int(await self._batcher.execute("GET", self._key(key)) or 0)

    async def get_expiry(self, key: str) -> float:
        """Epoch seconds when the key expires, as limits computes it (TTL + now)."""
        ttl = await self._batcher.execute("TTL", self._key(key))
        return max(int(ttl), 0) + time.time()

    async def clear(self, key: str) -> None:
        """Forget one counter."""
        await self._batcher.execute("DEL", self._key(key))
