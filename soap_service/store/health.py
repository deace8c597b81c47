"""Whether the database can read and write now: learnt from every call, re-checked in the
background while something is wrong, reported by /readyz and the metrics."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from soap_service.periodic import PeriodicCheck

if TYPE_CHECKING:
    from soap_service.store.engines import Engine
    from soap_service.store.errors import StoreUnavailable

log = logging.getLogger("highway.store")
CHECK_INTERVAL_SECONDS = 1.0
# A probe's tiny write can fit where a real batch did not (a nearly full disk): after a real
# write failed, only a real write clears the failure before this much time has passed.
WRITE_FAILURE_STICKY_SECONDS = 5.0


class StoreHealth:
    """Read and write availability of the database for this process.

    Engines report every call's outcome. Reads and writes are tracked apart: on a full disk or
    a read-only file, reads keep working while writes answer Server.Unavailable, and /readyz
    says which. Each transition is logged once.
    """

    def __init__(self) -> None:
        self.read_problem: str | None = None
        self.write_problem: str | None = None
        self.failure_count = 0
        self.outage_count = 0
        self._write_failed_at = 0.0

    def failed(self, exc: StoreUnavailable) -> None:
        """A call failed because the database could not serve it."""
        self.failure_count += 1
        if exc.write:
            self._write_failed_at = time.monotonic()
            if self.write_problem is None:
                self.outage_count += 1
                log.warning("database writes failing (%s): writes answer Server.Unavailable",
                            exc.reason)
            self.write_problem = exc.reason
        else:
            if self.read_problem is None:
                self.outage_count += 1
                log.warning("database unavailable (%s): requests answer Server.Unavailable",
                            exc.reason)
            self.read_problem = exc.reason

    def succeeded(self, write: bool, *, probe: bool = False) -> None:
        """A call succeeded: reads work (and writes, for a write; a probe's write counts only
        once WRITE_FAILURE_STICKY_SECONDS have passed since a real write failed)."""
        if self.read_problem is not None:
            log.warning("database available again")
            self.read_problem = None
        if probe and time.monotonic() - self._write_failed_at < WRITE_FAILURE_STICKY_SECONDS:
            return
        if write and self.write_problem is not None:
            log.warning("database writes work again")
            self.write_problem = None

    def probe(self) -> str | None:
        """None when healthy, else a short reason (for /readyz)."""
        if self.read_problem is not None:
            return self.read_problem
        if self.write_problem is not None:
            return f"writes failing: {self.write_problem}"
        return None

    def snapshot(self) -> dict[str, int]:
        """Numbers for the metrics exporter."""
        return {
            "db_readable": int(self.read_problem is None),
            "db_writable": int(self.write_problem is None and self.read_problem is None),
            "db_failure_total": self.failure_count,
            "db_outage_total": self.outage_count,
        }


class StoreMonitor(PeriodicCheck):
    """Pings the database every CHECK_INTERVAL_SECONDS on the reactor's loop, so /readyz
    notices an outage (and its end) without waiting for a request; while writes are failing
    it also tries a committed no-op write to see them recover."""

    def __init__(self, engine: Engine, reactor: Any) -> None:
        super().__init__(reactor, CHECK_INTERVAL_SECONDS)
        self._engine = engine
        self._first = True  # the first check also writes: a read-only file shows at once

    async def _check(self) -> None:
        from soap_service.store.errors import StoreUnavailable

        health = self._engine.health
        try:
            await self._engine.ping()
            first, self._first = self._first, False
            if first or health.write_problem is not None:
                await self._engine.ping(write=True)
        except StoreUnavailable:
            pass  # the engine has recorded it
        except Exception as exc:  # noqa: BLE001 - a probe must never kill the loop
            log.debug("database check failed: %r", exc)
