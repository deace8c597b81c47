"""The process's shared state, opened once from the state URL: Redis, health, replay cache."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from soap_service.state import redisconn
from soap_service.state.batcher import RedisBatcher
from soap_service.state.health import StateHealth
from soap_service.state.replay import DEFAULT_REPLAY_ENTRIES, ReplayCache, replay_cache_for

if TYPE_CHECKING:
    from redis.asyncio import Redis


@dataclasses.dataclass
class SharedState:
    """What rate limiting and WS-Security share: one Redis client and its batcher (or none),
    one health flag."""

    url: str
    health: StateHealth
    replay_cache: ReplayCache
    redis: Redis | None = None
    batcher: RedisBatcher | None = None  # auto-pipelines every hot-path command on `redis`

    @property
    def is_shared(self) -> bool:
        """True when state lives in Redis (global across processes), False for memory://."""
        return self.redis is not None

    async def aclose(self) -> None:
        """Stop the health probe and close Redis connections (on shutdown)."""
        await self.health.close()
        if self.batcher is not None:
            await self.batcher.aclose()
        if self.redis is not None:
            await self.redis.aclose()


def open_state(url: str, replay_entries: int = DEFAULT_REPLAY_ENTRIES) -> SharedState:
    """Build the shared state for `url` (memory:// or redis://...). Does no I/O: Redis is
    connected lazily on the reactor's event loop at the first request. `replay_entries`
    bounds the in-process replay cache (memory:// only; Redis keeps its own)."""
    if redisconn.is_redis_url(url):
        client = redisconn.connect(url)
        batcher = RedisBatcher(client)
        health = StateHealth(ping=client.ping)
        return SharedState(url, health, replay_cache_for(url, batcher, health), client, batcher)
    health = StateHealth()
    return SharedState(url, health, replay_cache_for(url, None, health, replay_entries))
