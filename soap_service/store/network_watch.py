"""Serving a new network without a restart: the network version is polled in the database.

`highway-server network import`, run anywhere, bumps the network version in the same
transaction as the new rows; every server process on every machine sharing the database
sees the new version within `--network-check-seconds` (and at once on SIGHUP), reads the
network off the reactor thread (the store's engine), checks it against the contract and
swaps it in, then `on_change` clears the response cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from soap_service.periodic import PeriodicCheck
from soap_service.store.errors import StoreUnavailable
from soap_service.store.traffic_store import TrafficStore

log = logging.getLogger("highway.store")


class NetworkWatcher(PeriodicCheck):
    """Reloads the store's network whenever its version in the database changes."""

    def __init__(self, store: TrafficStore, reactor: Any, interval: float,
                 on_change: Callable[[], None]) -> None:
        super().__init__(reactor, interval)
        self._store = store
        self._on_change = on_change
        self._lock: asyncio.Lock | None = None  # made on the loop that runs the checks
        self.reloads = 0

    async def _check(self) -> None:
        await self.reload()

    async def reload(self) -> bool:
        """Check once now; True if a new network is being served. Never raises."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # a SIGHUP during a periodic check: one after the other
            return await self._reload_once()

    async def _reload_once(self) -> bool:
        from soap_service.contract.limits import NetworkOutsideContract

        before = self._store.network_version
        try:
            changed = await self._store.reload_network()
        except StoreUnavailable:
            return False  # the engine has recorded it; the next check tries again
        except NetworkOutsideContract as exc:
            log.error("network not reloaded, still serving version %d: %s", before, exc)
            return False
        except Exception as exc:  # noqa: BLE001 - a check must never kill the loop
            log.error("network not reloaded, still serving version %d: %r", before, exc)
            return False
        if changed:
            self.reloads += 1
            self._on_change()
            highways = self._store.highways()
            log.info("serving network version %d (%d highways, %d segments; was version %d)",
                     self._store.network_version, len(highways),
                     sum(h.segment_count for h in highways), before)
        return changed

    def reload_soon(self) -> asyncio.Future[bool]:
        """Start a check now (SIGHUP) without blocking the caller; the future gives its result."""
        return asyncio.ensure_future(self.reload())
