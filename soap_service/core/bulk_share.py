"""Large requests (batches of observations) get at most a set share of the reactor thread
while small ones (reads) are in flight, so a stream of batches cannot starve reads.

Why: one process serves everything on one thread. A 1000-item batch costs milliseconds per
step (parse, schema validation, checks); sent back to back, batches would take whatever the
thread has, and reads would get the rest. After each step of a large request that runs
without awaiting (parse, schema validation) and after its operation (binding, and the
store's work: SQLite's writer runs on this process's cores too), the pipeline asks
`after_step`: with small requests in flight, the large one waits long enough that its steps
use at most `share` of the time (a 3 ms step at share 0.3 waits 7 ms, and reads run
meanwhile; one wait is at most MAX_WAIT_SECONDS); with none in flight it only passes its
turn, so batches alone run at full speed. Nothing is refused or skipped: a batch is only
slower while reads need the time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from soap_service.core.exchange import Exchange

# A body this large is a batch: smaller ones (every read, small reports) are never held.
LARGE_BODY_BYTES = 16 * 1024
DEFAULT_SHARE = 0.3
MAX_WAIT_SECONDS = 0.05  # the longest one step is held (three paced steps per batch)


class BulkShare:
    """Counts the small requests in flight and paces the steps of large ones."""

    def __init__(self, share: float = DEFAULT_SHARE, *, large_bytes: int = LARGE_BODY_BYTES,
                 now: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self.share = share
        self.large_bytes = large_bytes
        self._now = now
        self._sleep = sleep
        self.small_in_flight = 0
        self.held_seconds = 0.0  # total time large requests waited for small ones

    def is_large(self, exchange: Exchange) -> bool:
        """Whether `exchange` is paced (its body is at least `large_bytes`)."""
        return len(exchange.body) >= self.large_bytes

    def begin(self, exchange: Exchange) -> None:
        """Count a small request in."""
        if not self.is_large(exchange):
            self.small_in_flight += 1

    def mark(self) -> float:
        """The time a step starts at (for `after_step`)."""
        return self._now()

    def end(self, exchange: Exchange) -> None:
        """Count a small request out (call once per `begin`, however the request ended)."""
        if not self.is_large(exchange):
            self.small_in_flight -= 1

    async def after_step(self, exchange: Exchange, step_started: float) -> None:
        """After a step that ran without awaiting (from `step_started`): for a large request,
        wait as its share requires, or only pass the turn when nothing small is waiting.
        (A step that awaited would count other requests' time as its own.)"""
        if not self.is_large(exchange):
            return
        if self.small_in_flight > 0 and self.share < 1:
            took = self._now() - step_started
            # Capped: a step slowed by something else (a lock wait in the store) must not
            # turn into a long hold; the cap bounds what pacing adds to any one answer.
            wait = min(MAX_WAIT_SECONDS, took * (1 - self.share) / self.share)
            self.held_seconds += wait
            await self._sleep(wait)
        else:
            await self._sleep(0)  # let what else is ready run between the steps

    async def pass_turn(self, exchange: Exchange) -> None:
        """For a large request: let the other ready requests run first (no wait)."""
        if self.is_large(exchange):
            await self._sleep(0)
