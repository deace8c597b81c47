"""Account lookups for the serving path: asynchronous, from the shared store, briefly cached.

Every machine reads accounts from the database it shares, so an account added, changed or
removed on one machine (`highway-server users ...`) takes effect on every machine within
`ttl_seconds` without a restart. The short cache keeps a burst of requests from one principal
to one query per TTL; 0 looks every request up. Requests that miss together (an entry expires
under load: every request in flight for that principal misses at once) share one query.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from soap_service.security.accounts import Account
from soap_service.store.engines import Engine

_COLUMNS = "name, role, password_hash, digest_secret, cert_subject"
# Unknown names are cached too (a flood of random names must not become a flood of queries),
# and the whole cache is dropped when it reaches this size.
MAX_ENTRIES = 10_000


class AccountDirectory:
    """`get(name)` and `by_cert_subject(dn)` as coroutines over the store's engine."""

    def __init__(self, engine: Engine, *, ttl_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, Account | None]] = {}
        # Queries in flight, by key: a request that misses while one runs awaits its answer.
        self._pending: dict[tuple[str, str], asyncio.Future[Account | None]] = {}

    async def _lookup(self, column: str, value: str) -> Account | None:
        key = (column, value)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        if self._ttl <= 0:
            return await self._query(column, value)  # no sharing either: each its own query
        pending = self._pending.get(key)
        if pending is not None:
            # shield: one waiter cancelled (its client gone) must not cancel the others' query.
            return await asyncio.shield(pending)
        query = asyncio.ensure_future(self._query(column, value))
        query.add_done_callback(_observed)
        self._pending[key] = query
        try:
            account = await asyncio.shield(query)
        finally:
            if self._pending.get(key) is query:
                del self._pending[key]
        if len(self._cache) >= MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, account)
        return account

    async def _query(self, column: str, value: str) -> Account | None:
        row = await self._engine.fetchone(
            f"SELECT {_COLUMNS} FROM accounts WHERE {column} = ?", (value,)
        )
        return (
            Account(row[0], row[1], row[2], bytes(row[3]) if row[3] is not None else None, row[4])
            if row else None
        )

    async def get(self, name: str) -> Account | None:
        """The account with this name, or None."""
        return await self._lookup("name", name)

    async def by_cert_subject(self, subject: str) -> Account | None:
        """The account mapped to this certificate subject DN, or None."""
        return await self._lookup("cert_subject", subject)


def _observed(query: asyncio.Future[Account | None]) -> None:
    """Mark a shared query's error as seen: when every waiter was cancelled, nobody else does."""
    if not query.cancelled():
        query.exception()
