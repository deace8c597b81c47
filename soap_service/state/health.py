"""Whether shared state (Redis) is reachable: one flag, counters for metrics, self-recovery."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

log = logging.getLogger("highway.state")


class StateHealth:
    """Tracks Redis availability for this process; exported to metrics as gauge and counters.

    Users report failures; the first failure after a healthy period logs once, counts one
    fallback and starts a background probe (PING with jittered exponential backoff) that
    flips the flag back when Redis answers. Nobody waits on the probe: while Redis is down,
    rate limiting uses per-process memory and replay protection refuses at once.
    """

    def __init__(
        self,
        ping: Callable[[], Awaitable[object]] | None = None,
        *,
        first_delay: float = 0.25,
        max_delay: float = 5.0,
    ) -> None:
        self.redis_configured = ping is not None
        self.redis_available = ping is not None
        self.fallback_count = 0  # transitions healthy -> unavailable
        self.recovery_count = 0  # transitions unavailable -> healthy
        self.failure_count = 0  # every failed Redis call (a flood counts every request)
        self._ping = ping
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._probe: asyncio.Task[None] | None = None

    def report_failure(self, exc: BaseException, what: str) -> None:
        """A Redis call failed: mark unavailable (logged once per transition) and start probing."""
        self.failure_count += 1
        if not self.redis_available:
            return
        self.redis_available = False
        self.fallback_count += 1
        log.warning(
            "redis unreachable (%s: %s during %s): rate limits fall back to per-process "
            "memory, replay-protected requests are refused until it returns",
            type(exc).__name__, exc, what,
        )
        self._start_probe()

    def report_success(self) -> None:
        """Redis answered (the probe, usually): mark available again, logged once."""
        if self.redis_available or not self.redis_configured:
            return
        self.redis_available = True
        self.recovery_count += 1
        log.warning("redis reachable again: shared rate limits and replay cache restored")

    def _start_probe(self) -> None:
        if self._ping is None or (self._probe is not None and not self._probe.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller); the next failure on the loop starts it
        self._probe = loop.create_task(self._run_probe())

    async def _run_probe(self) -> None:
        assert self._ping is not None
        delay = self._first_delay
        while not self.redis_available:
            # Jitter keeps N worker processes from probing a recovering Redis in lockstep.
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            try:
                await self._ping()
            except Exception as exc:  # noqa: BLE001 - any failure just means "still down"
                log.debug("redis probe failed: %s", exc)
                delay = min(delay * 2, self._max_delay)
                continue
            self.report_success()

    async def close(self) -> None:
        """Stop the probe (on shutdown)."""
        if self._probe is not None and not self._probe.done():
            self._probe.cancel()
            try:
                await self._probe
            except asyncio.CancelledError:
                pass

    def snapshot(self) -> dict[str, int]:
        """Numbers for the metrics exporter: availability gauge and transition counters."""
        return {
            "redis_configured": int(self.redis_configured),
            "redis_available": int(self.redis_available),
            "fallback_total": self.fallback_count,
            "recovery_total": self.recovery_count,
            "failure_total": self.failure_count,
        }
