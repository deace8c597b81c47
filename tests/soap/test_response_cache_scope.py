"""Issue 14: a batch invalidates cached answers only for the highways it touched, while no
process serves an answer older than a write acknowledged by any process (versions are read
from the database on every lookup); concurrent misses of one key are built once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine
from typing import Any, TypeVar

from soap_service.domain import Observation
from soap_service.soap.response_cache import ResponseCache, store_key_version
from soap_service.store.traffic_store import TrafficStore, open_traffic_store
from tests.store.conftest import db_url, postgres  # noqa: F401 - fixtures: both engines

T = TypeVar("T")
_LOOP = asyncio.new_event_loop()  # one loop for the module: an async pool belongs to its loop
NOW = dt.datetime(2026, 11, 24, 12, 0, 0, 250000, tzinfo=dt.UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(coro)


def cache_of(store: TrafficStore) -> ResponseCache:
    return ResponseCache(store.answer_version, key_version=store_key_version(store))


def observation(sensor: str, segment: str, speed: float) -> Observation:
    return Observation(sensor, segment, NOW - dt.timedelta(minutes=1), speed)


def test_a_batch_invalidates_only_the_highways_it_touched(db_url: str) -> None:  # noqa: F811
    mine = open_traffic_store(db_url, clock=NOW.timestamp)
    other = open_traffic_store(db_url, clock=NOW.timestamp)  # another process, same database
    cache = cache_of(mine)
    on_192 = ("GetTravelTimes", ("192", None))
    on_217 = ("GetTravelTimes", ("217", "NB"))
    listing = ("ListHighways", ())

    async def scenario() -> None:
        for key in (on_192, on_217, listing):
            body, version = await cache.lookup(key)
            assert body is None
            cache.put(key, repr(key).encode(), version)
        assert await cache.get(on_192) and await cache.get(on_217)
        # Another process acknowledges a batch on 217 only.
        await other.report([observation("a", "217-NB-01", 40.0)])
        assert await cache.get(on_217) is None  # never older than the acknowledged write
        assert await cache.get(on_192) == repr(on_192).encode()  # 192 untouched: still valid
        assert await cache.get(listing) == repr(listing).encode()
        # A batch over two highways invalidates both.
        body, version = await cache.lookup(on_217)
        cache.put(on_217, b"217 again", version)
        await mine.report([observation("b", "217-NB-02", 30.0),
                           observation("c", "192-EB-01", 30.0)])
        assert await cache.get(on_217) is None and await cache.get(on_192) is None

    run(scenario())


def test_highway_versions_move_with_commits_and_the_second(db_url: str) -> None:  # noqa: F811
    now = [NOW.timestamp()]
    store = open_traffic_store(db_url, clock=lambda: now[0])

    async def scenario() -> None:
        start = await store.highway_answer_version("225")
        assert start == await store.highway_answer_version("225")
        await store.report([observation("d", "192-EB-01", 50.0)])
        assert await store.highway_answer_version("225") == start
        await store.report([observation("e", "225-SB-01", 50.0)] * 2)  # duplicates in one
        after = await store.highway_answer_version("225")
        assert after != start
        await store.report([observation("e", "225-SB-01", 50.0)])  # all duplicates
        now[0] += 1.0
        assert await store.highway_answer_version("225") != after  # asOf moves on

    run(scenario())


def test_concurrent_misses_of_one_key_are_built_once() -> None:
    version = [1]

    async def current() -> int:
        return version[0]

    async def scenario() -> None:
        cache = ResponseCache(current)
        release = asyncio.Event()
        builds: list[int] = []

        async def build() -> bytes:
            builds.append(1)
            await release.wait()
            return b"answer"

        key = ("GetTravelTimes", ("192", None))
        tasks = [asyncio.ensure_future(cache.answer(key, build)) for _ in range(10)]
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(*tasks)
        assert builds == [1]
        assert {body for body, _ in results} == {b"answer"}
        assert sorted(how for _, how in results) == ["miss"] + ["shared"] * 9
        assert await cache.answer(key, build) == (b"answer", "hit")
        # Another key, or the same key at a new version, is built again.
        version[0] = 2
        assert await cache.answer(key, build) == (b"answer", "miss")
        assert len(builds) == 2

    asyncio.run(scenario())


def test_a_failed_build_is_not_shared() -> None:
    async def current() -> int:
        return 1

    async def scenario() -> None:
        cache = ResponseCache(current)
        release = asyncio.Event()
        calls: list[int] = []

        async def build() -> bytes:
            calls.append(1)
            if len(calls) == 1:
                await release.wait()
                raise RuntimeError("database went away")
            return b"second try"

        key = ("GetTravelTimes", ("217", None))
        first = asyncio.ensure_future(cache.answer(key, build))
        await asyncio.sleep(0)
        waiter = asyncio.ensure_future(cache.answer(key, build))
        await asyncio.sleep(0)
        release.set()
        results = await asyncio.gather(first, waiter, return_exceptions=True)
        assert isinstance(results[0], RuntimeError)
        assert results[1] == (b"second try", "miss")
        assert len(calls) == 2

    asyncio.run(scenario())
