"""Background store upkeep: retention, and the once-a-second speed-window refresh.

Observations older than `--retention` are deleted; the speed windows in use follow new rows.

A periodic task on the reactor's clock deletes in small transactions (store.expire_observations),
so ingest batches interleave with it and no request waits for it. SQLite files created by this
version use incremental auto-vacuum and shrink back after each pass; older files reuse the
freed pages in place (the file stops growing but does not shrink until one VACUUM).
"""

from __future__ import annotations

import logging
from typing import Any

from soap_service.periodic import PeriodicCheck
from soap_service.store.errors import StoreUnavailable
from soap_service.store.traffic_store import TrafficStore

log = logging.getLogger("highway.store")
RETENTION_INTERVAL_SECONDS = 60.0


class RetentionTask(PeriodicCheck):
    """Runs the store's retention pass every RETENTION_INTERVAL_SECONDS."""

    def __init__(self, store: TrafficStore, reactor: Any,
                 interval: float = RETENTION_INTERVAL_SECONDS) -> None:
        super().__init__(reactor, interval)
        self._store = store
        self.deleted_total = 0

    async def _check(self) -> None:
        try:
            deleted = await self._store.expire_observations()
        except StoreUnavailable:
            return  # recorded by the engine; the next pass catches up
        except Exception as exc:  # noqa: BLE001 - a pass must never kill the loop
            log.error("retention pass failed: %r", exc)
            return
        if deleted:
            self.deleted_total += deleted
            log.info("retention: deleted %d observations older than %s", deleted,
                     self._store.retention)


class WindowRefresher(PeriodicCheck):
    """Keeps the speed windows in use up to date every second (TrafficStore.refresh_windows)."""

    def __init__(self, store: TrafficStore, reactor: Any, interval: float = 1.0) -> None:
        super().__init__(reactor, interval)
        self._store = store
        self.refreshed_total = 0

    async def _check(self) -> None:
        try:
            self.refreshed_total += await self._store.refresh_windows()
        except StoreUnavailable:
            return  # recorded by the engine; reads still update their windows themselves
        except Exception as exc:  # noqa: BLE001 - a refresh must never kill the loop
            log.error("speed window refresh failed: %r", exc)
