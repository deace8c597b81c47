"""Readiness of Redis: a small periodic PING whose last answer the sync /readyz probe reads."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from twisted.internet.task import LoopingCall

from soap_service.state.redisconn import REDIS_ERRORS

log = logging.getLogger("highway.readiness")
CHECK_INTERVAL_SECONDS = 1.0


class RedisReadiness:
    """Pings Redis every CHECK_INTERVAL_SECONDS on the reactor's loop; `probe()` reports the
    last result. Not ready until the first PING has answered (fail closed at startup).

    Separate from state/health.py on purpose: StateHealth learns from real requests and drives
    the fallback; this only answers "would a request reach Redis now?" for the orchestrator.
    """

    def __init__(self, redis: Any, reactor: Any) -> None:
        self._redis = redis
        self._problem: str | None = "not checked yet"
        self._pending: asyncio.Task[None] | None = None
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor

    def start(self) -> None:
        """Begin pinging (call once the reactor runs)."""
        self._loop.start(CHECK_INTERVAL_SECONDS, now=True)

    def stop(self) -> None:
        """Stop pinging (shutdown)."""
        if self._loop.running:
            self._loop.stop()

    def _tick(self) -> None:
        if self._pending is not None and not self._pending.done():
            return  # the previous PING is still waiting (bounded by the socket timeout)
        self._pending = asyncio.ensure_future(self._ping())

    async def _ping(self) -> None:
        try:
            await self._redis.ping()
        except REDIS_ERRORS as exc:
            if self._problem is None:
                log.warning("readiness: redis unreachable (%s)", type(exc).__name__)
            self._problem = "unreachable"
            return
        except Exception as exc:  # noqa: BLE001 - anything else also means "not ready"
            self._problem = type(exc).__name__
            return
        self._problem = None

    def probe(self) -> str | None:
        """None when the last PING answered, else a short reason (for /readyz)."""
        return self._problem
