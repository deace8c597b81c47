"""Where counting happens: Redis when configured and up, else per-process memory, switching back
by itself when Redis returns."""

from __future__ import annotations

from limits import RateLimitItem

from soap_service.ratelimit.counters import Counter, Decision, make_storage
from soap_service.state.health import StateHealth
from soap_service.state.redisconn import REDIS_ERRORS
from soap_service.state.shared import SharedState


class LimitBackend:
    """Counts hits in shared storage when it is healthy and in this process's memory otherwise.

    During a Redis outage each process enforces the configured limits on its own, so N
    processes admit up to N times the limit: degraded, but neither closed nor unlimited.
    Memory counts are not merged back into Redis on recovery (windows are short)."""

    def __init__(
        self, primary: Counter | None, fallback: Counter, health: StateHealth
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self.health = health

    @classmethod
    def for_state(cls, state: SharedState, strategy: str) -> LimitBackend:
        """Memory only for memory://; Redis (sharing the state's connection pool and batcher)
        plus a memory fallback for redis://."""
        fallback = Counter(make_storage("memory://"), strategy, shared=False)
        if state.redis is None:
            return cls(None, fallback, state.health)
        storage = make_storage(
            state.url, connection_pool=state.redis.connection_pool, batcher=state.batcher
        )
        return cls(Counter(storage, strategy, shared=True), fallback, state.health)

    async def hit(self, item: RateLimitItem, *identifiers: str) -> Decision:
        """Count one request; Redis errors switch this process to memory, never to a refusal."""
        if self._primary is not None and self.health.redis_available:
            try:
                return await self._primary.hit(item, *identifiers)
            except REDIS_ERRORS as exc:
                self.health.report_failure(exc, "rate limit")
        return await self._fallback.hit(item, *identifiers)
