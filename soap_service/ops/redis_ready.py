"""Readiness of Redis: a small periodic PING whose last answer the sync /readyz probe reads."""

from __future__ import annotations

import logging
from typing import Any

from soap_service.periodic import PeriodicCheck
from soap_service.state.redisconn import REDIS_ERRORS

log = logging.getLogger("highway.readiness")
CHECK_INTERVAL_SECONDS = 1.0


class RedisReadiness(PeriodicCheck):
    """Pings Redis every CHECK_INTERVAL_SECONDS on the reactor's loop; `probe()` reports the
    last result. Not ready until the first PING has answered (fail closed at startup).

    Separate from state/health.py on purpose: StateHealth learns from real requests and drives
    the fallback; this only answers "would a request reach Redis now?" for the orchestrator.
    """

    def __init__(self, redis: Any, reactor: Any) -> None:
        super().__init__(reactor, CHECK_INTERVAL_SECONDS)
        self._redis = redis
        self._problem: str | None = "not checked yet"

    async def _check(self) -> None:
        """One PING (bounded by the socket timeout)."""
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
