"""A check that runs on the reactor's clock, one at a time: the base of the readiness probes."""

from __future__ import annotations

import asyncio
from typing import Any

from twisted.internet.task import LoopingCall


class PeriodicCheck:
    """Calls the async `_check()` every `interval` seconds on the reactor's loop, never two at
    once: a check that is still waiting (each is bounded by its own timeout) skips the tick."""

    def __init__(self, reactor: Any, interval: float) -> None:
        self._interval = interval
        self._pending: asyncio.Future[None] | None = None
        self._loop = LoopingCall(self._tick)
        self._loop.clock = reactor

    def start(self) -> None:
        """Begin checking (call once the reactor runs)."""
        self._loop.start(self._interval, now=True)

    def stop(self) -> None:
        """Stop checking (shutdown)."""
        if self._loop.running:
            self._loop.stop()

    def _tick(self) -> None:
        if self._pending is not None and not self._pending.done():
            return
        self._pending = asyncio.ensure_future(self._check())

    async def _check(self) -> None:
        """One check; subclasses record its outcome."""
        raise NotImplementedError
