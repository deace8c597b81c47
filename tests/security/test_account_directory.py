"""AccountDirectory: requests that miss the cache together share one query."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from soap_service.security.account_directory import AccountDirectory
from soap_service.store.errors import StoreUnavailable

ROW = ("carol", "reader", "hash", None, None)


class SlowEngine:
    """Answers fetchone after the test releases it, counting the queries."""

    def __init__(self, fail: bool = False) -> None:
        self.queries: list[tuple[str, Sequence[Any]]] = []
        self.release = asyncio.Event()
        self.fail = fail

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self.queries.append((sql, params))
        await self.release.wait()
        if self.fail:
            raise StoreUnavailable("database busy", write=False)
        return ROW if params == ("carol",) else None


def _directory(engine: SlowEngine, ttl: float = 1.0) -> AccountDirectory:
    return AccountDirectory(engine, ttl_seconds=ttl)  # type: ignore[arg-type]


def test_concurrent_misses_share_one_query_per_key() -> None:
    async def scenario() -> None:
        engine = SlowEngine()
        directory = _directory(engine)
        waiting = [asyncio.ensure_future(directory.get(name))
                   for name in ["carol"] * 16 + ["mallory"] * 4]
        await asyncio.sleep(0)
        engine.release.set()
        found = await asyncio.gather(*waiting)
        assert [a.name if a else None for a in found] == ["carol"] * 16 + [None] * 4
        assert sorted(params for _, params in engine.queries) == [("carol",), ("mallory",)]
        assert await directory.get("carol") is found[0]  # then cached: no third query
        assert len(engine.queries) == 2

    asyncio.run(scenario())


def test_a_failed_shared_query_fails_every_waiter_and_is_not_cached() -> None:
    async def scenario() -> None:
        engine = SlowEngine(fail=True)
        directory = _directory(engine)
        waiting = [asyncio.ensure_future(directory.get("carol")) for _ in range(5)]
        await asyncio.sleep(0)
        engine.release.set()
        results = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(r, StoreUnavailable) for r in results)
        assert len(engine.queries) == 1
        engine.fail = False
        account = await directory.get("carol")
        assert account is not None and len(engine.queries) == 2

    asyncio.run(scenario())


def test_the_first_caller_gone_does_not_cancel_the_others() -> None:
    async def scenario() -> None:
        engine = SlowEngine()
        directory = _directory(engine)
        first = asyncio.ensure_future(directory.get("carol"))
        await asyncio.sleep(0)
        others = [asyncio.ensure_future(directory.get("carol")) for _ in range(3)]
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        engine.release.set()
        found = await asyncio.gather(*others)
        assert all(a is not None and a.name == "carol" for a in found)
        with pytest.raises(asyncio.CancelledError):
            await first

    asyncio.run(scenario())


def test_ttl_zero_looks_every_request_up() -> None:
    async def scenario() -> None:
        engine = SlowEngine()
        directory = _directory(engine, ttl=0)
        waiting = [asyncio.ensure_future(directory.get("carol")) for _ in range(3)]
        await asyncio.sleep(0)
        engine.release.set()
        await asyncio.gather(*waiting)
        assert len(engine.queries) == 3

    asyncio.run(scenario())
