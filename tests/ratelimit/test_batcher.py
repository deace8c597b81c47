"""The Redis auto-pipelining batcher and the batched limits storage, against a real Redis."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest
from limits import parse
from limits.aio.strategies import FixedWindowRateLimiter
from redis.exceptions import ResponseError

from soap_service.ratelimit.counters import make_storage
from soap_service.ratelimit.redis_storage import BatchedRedisStorage
from soap_service.state import redisconn
from soap_service.state.batcher import RedisBatcher
from soap_service.state.redisconn import REDIS_ERRORS
from soap_service.state.replay import StateUnavailable
from soap_service.state.shared import open_state
from tests.ratelimit.conftest import run
from tests.ratelimit.redis_proc import RedisProcess


class CountingBatcher(RedisBatcher):
    """Counts pipelines sent, so tests can see that commands were batched."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.pipelines = 0

    async def _round_trip(self, batch: Any) -> None:
        self.pipelines += 1
        await super()._round_trip(batch)


def test_concurrent_callers_get_their_own_results(redis_url: str) -> None:
    async def scenario() -> None:
        client = redisconn.connect(redis_url)
        batcher = CountingBatcher(client)
        try:
            async def caller(n: int) -> tuple[Any, Any]:
                await batcher.execute("SET", f"k{n}", str(n))
                value = await batcher.execute("GET", f"k{n}")
                count = await batcher.execute("INCRBY", "shared", n)
                return value, count

            results = await asyncio.gather(*(caller(n) for n in range(50)))
            assert [value for value, _ in results] == [str(n).encode() for n in range(50)]
            assert sorted(count for _, count in results)[-1] == sum(range(50))
            # 150 commands from 50 concurrent callers: far fewer round trips than commands.
            assert batcher.pipelines <= 10
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


def test_an_error_fails_only_its_own_command(redis_url: str) -> None:
    async def scenario() -> None:
        client = redisconn.connect(redis_url)
        batcher = CountingBatcher(client)
        try:
            await batcher.execute("SET", "text", "abc")
            before = batcher.pipelines
            results = await asyncio.gather(
                batcher.execute("INCR", "counter"),
                batcher.execute("INCR", "text"),  # not an integer
                batcher.execute("INCR", "counter"),
                return_exceptions=True,
            )
            assert batcher.pipelines == before + 1  # all three in one pipeline
            assert results[0] == 1 and results[2] == 2
            assert isinstance(results[1], ResponseError)
            assert await batcher.execute("GET", "counter") == b"2"
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


def test_commands_keep_their_order(redis_url: str) -> None:
    async def scenario() -> None:
        client = redisconn.connect(redis_url)
        batcher = RedisBatcher(client)
        try:
            # One caller queueing without waiting, across several ticks and pipelines.
            futures = []
            for n in range(200):
                futures.append(batcher.execute("RPUSH", "unawaited", n))
                if n % 7 == 0:
                    await asyncio.sleep(0)
            await asyncio.gather(*futures)
            assert await batcher.execute("LRANGE", "unawaited", 0, -1) == [
                str(n).encode() for n in range(200)
            ]

            # Several callers, each awaiting its own commands in turn, interleaved.
            async def caller(name: str) -> None:
                for n in range(30):
                    await batcher.execute("RPUSH", name, n)

            names = [f"list{i}" for i in range(8)]
            await asyncio.gather(*(caller(name) for name in names))
            for name in names:
                assert await batcher.execute("LRANGE", name, 0, -1) == [
                    str(n).encode() for n in range(30)
                ]
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


def test_a_cancelled_caller_does_not_disturb_the_others(redis_url: str) -> None:
    async def scenario() -> None:
        client = redisconn.connect(redis_url)
        batcher = RedisBatcher(client)
        try:
            gone = batcher.execute("INCR", "n")
            kept = batcher.execute("INCR", "n")
            gone.cancel()
            assert await kept == 2  # the cancelled command was still sent: Redis counted it
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


@pytest.mark.timeout(60)
def test_an_outage_fails_every_pending_caller(own_redis: RedisProcess) -> None:
    async def scenario() -> None:
        client = redisconn.connect(own_redis.url)
        batcher = RedisBatcher(client)
        try:
            assert await batcher.execute("PING")
            own_redis.kill()
            results = await asyncio.gather(
                *(batcher.execute("INCR", f"k{n}") for n in range(20)),
                return_exceptions=True,
            )
            assert all(isinstance(result, REDIS_ERRORS) for result in results), results
            own_redis.start()
            assert await batcher.execute("INCR", "after") == 1  # reconnects by itself
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


@pytest.mark.timeout(60)
def test_a_stalled_redis_times_out_every_pending_caller(own_redis: RedisProcess) -> None:
    async def scenario() -> None:
        client = redisconn.connect(own_redis.url)
        batcher = RedisBatcher(client)
        assert own_redis.process is not None
        pid = own_redis.process.pid
        try:
            assert await batcher.execute("INCR", "n") == 1
            os.kill(pid, signal.SIGSTOP)  # connected but silent: only the read timeout ends it
            try:
                results = await asyncio.gather(
                    *(batcher.execute("INCR", "n") for _ in range(10)),
                    return_exceptions=True,
                )
            finally:
                os.kill(pid, signal.SIGCONT)
            assert all(isinstance(result, REDIS_ERRORS) for result in results), results
            # The stalled connection was dropped: the late replies cannot be mistaken for the
            # next callers' (Redis did count the 10 INCRs once it resumed).
            assert await batcher.execute("INCR", "n") == 12
        finally:
            await batcher.aclose()
            await client.aclose()

    run(scenario())


@pytest.mark.timeout(60)
def test_replay_cache_fails_closed_for_every_request_in_the_pipeline(
    own_redis: RedisProcess,
) -> None:
    async def scenario() -> None:
        state = open_state(own_redis.url)
        try:
            assert await state.replay_cache.first_seen("alice:n0", 60)
            own_redis.kill()
            results = await asyncio.gather(
                *(state.replay_cache.first_seen(f"alice:n{n}", 60) for n in range(1, 11)),
                return_exceptions=True,
            )
            assert all(isinstance(result, StateUnavailable) for result in results), results
            assert not state.health.redis_available
        finally:
            await state.aclose()

    run(scenario())


def test_replay_cache_through_the_batcher_sees_replays(redis_url: str) -> None:
    async def scenario() -> None:
        state = open_state(redis_url)
        try:
            first = await asyncio.gather(
                *(state.replay_cache.first_seen("bob:same", 60) for _ in range(10))
            )
            assert sorted(first) == [False] * 9 + [True]  # exactly one request got through
        finally:
            await state.aclose()

    run(scenario())


def test_batched_storage_counts_like_limits_own(redis_url: str) -> None:
    async def scenario() -> None:
        state = open_state(redis_url)
        assert state.redis is not None
        ours = make_storage(
            redis_url, connection_pool=state.redis.connection_pool, batcher=state.batcher
        )
        theirs = make_storage(redis_url, connection_pool=state.redis.connection_pool)
        assert isinstance(ours, BatchedRedisStorage)
        assert not isinstance(theirs, BatchedRedisStorage)
        try:
            await state.redis.script_flush()  # the first incr must fall back to EVAL
            assert await ours.incr("k", 60) == 1
            assert await theirs.incr("k", 60) == 2  # same key, same prefix, same script
            assert await ours.incr("k", 60) == 3
            assert await ours.get("k") == 3
            assert 0 < await ours.get_expiry("k") - await theirs.get_expiry("k") + 1 < 2
            await ours.clear("k")
            assert await theirs.get("k") == 0

            limiter = FixedWindowRateLimiter(ours)
            item = parse("2/minute")
            assert [await limiter.hit(item, "x") for _ in range(3)] == [True, True, False]
        finally:
            await state.aclose()

    run(scenario())
