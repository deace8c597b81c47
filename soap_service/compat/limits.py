"""limits' private sweep scheduler of its async memory storage, fenced in one place.

Relied on (tested in tests/compat/test_compat.py): `limits.aio.storage.MemoryStorage` calls its
name-mangled `__schedule_expiry()` (so `_MemoryStorage__schedule_expiry` from a subclass) after
each hit, and that coroutine starts a task sweeping every key. `ThrottledSweepMemoryStorage`
lets subclasses decide, in `should_sweep()`, whether a sweep starts at all.
"""

from __future__ import annotations

from limits.aio.storage import MemoryStorage

from soap_service.compat import require

LIMITS_VERSION = require("limits", "5.0", "5.9")

SCHEDULE_EXPIRY = "_MemoryStorage__schedule_expiry"  # MemoryStorage.__schedule_expiry, mangled
if not callable(getattr(MemoryStorage, SCHEDULE_EXPIRY, None)):  # pragma: no cover
    raise ImportError(f"limits {LIMITS_VERSION}: MemoryStorage.__schedule_expiry is gone")


class ThrottledSweepMemoryStorage(MemoryStorage):
    """limits' async memory storage whose expiry sweep runs only when `should_sweep()` says so."""

    def should_sweep(self) -> bool:
        """Whether the sweep limits schedules after a hit should start now (default: always)."""
        return True

    async def _MemoryStorage__schedule_expiry(self) -> None:  # overrides the private hook
        if self.should_sweep():
            await getattr(super(), SCHEDULE_EXPIRY)()
