"""Shared state in a real Redis: global counters, shared replay cache, outage and recovery."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from soap_service.faults import ServiceFault
from soap_service.ratelimit.build import build_rate_limiting
from soap_service.ratelimit.settings import RateLimitSettings
from soap_service.state.replay import MemoryReplayCache, RedisReplayCache, StateUnavailable
from soap_service.state.shared import SharedState, open_state
from tests.ratelimit.conftest import make_exchange, run
from tests.ratelimit.redis_proc import RedisProcess


async def wait_until(condition, timeout: float = 10.0) -> None:  # noqa: ANN001
    """Poll a condition on the event loop (the health probe runs meanwhile)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


def test_two_processes_worth_of_state_share_one_limit(redis_url: str) -> None:
    """Two independent SharedState objects (as two processes have) count in one bucket."""
    async def scenario() -> None:
        settings = RateLimitSettings(state_url=redis_url, ip_rate_limit="4/minute")
        first, second = open_state(redis_url), open_state(redis_url)
        stages = [build_rate_limiting(settings, s).ip_limit for s in (first, second)]
        outcomes = []
        for i in range(6):
            try:
                await stages[i % 2](make_exchange(ip="192.0.2.44"))  # type: ignore[misc]
                outcomes.append(True)
            except ServiceFault:
                outcomes.append(False)
        assert outcomes == [True] * 4 + [False] * 2
        await first.aclose()
        await second.aclose()

    run(scenario())


def test_replay_cache_is_shared_between_instances(redis_url: str) -> None:
    async def scenario() -> None:
        first, second = open_state(redis_url), open_state(redis_url)
        assert isinstance(first.replay_cache, RedisReplayCache)
        assert await first.replay_cache.first_seen("alice:nonce-1", 300) is True
        assert await second.replay_cache.first_seen("alice:nonce-1", 300) is False
        assert await first.replay_cache.first_seen("alice:nonce-1", 300) is False
        assert await second.replay_cache.first_seen("alice:nonce-2", 300) is True
        # Entries expire with their window.
        assert await first.replay_cache.first_seen("alice:short", 0.2) is True
        await asyncio.sleep(0.4)
        assert await second.replay_cache.first_seen("alice:short", 0.2) is True
        await first.aclose()
        await second.aclose()

    run(scenario())


def test_memory_state_url_gives_process_local_state() -> None:
    state = open_state("memory://")
    assert isinstance(state.replay_cache, MemoryReplayCache)
    assert state.is_shared is False and state.health.redis_configured is False


def test_replay_fails_closed_when_redis_never_answered(own_redis: RedisProcess) -> None:
    url = own_redis.url
    own_redis.kill()

    async def scenario() -> None:
        state = open_state(url)
        with pytest.raises(StateUnavailable):
            await state.replay_cache.first_seen("alice:n", 300)
        assert state.health.redis_available is False and state.health.fallback_count == 1
        # Known down: refused at once, without another connection attempt.
        with pytest.raises(StateUnavailable):
            await state.replay_cache.first_seen("alice:n2", 300)
        await state.aclose()

    run(scenario())


def test_redis_killed_mid_test_falls_back_then_recovers(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="highway.state")

    async def scenario() -> None:
        state: SharedState = open_state(own_redis.url)
        settings = RateLimitSettings(state_url=own_redis.url, ip_rate_limit="3/minute")
        rl = build_rate_limiting(settings, state)
        assert rl.ip_limit is not None
        await rl.ip_limit(make_exchange(ip="192.0.2.50"))
        assert rl.ip_limit is not None and state.health.redis_available

        own_redis.kill()
        # Requests keep being answered, now with per-process limits (the same 3/minute).
        outcomes = []
        for _ in range(5):
            try:
                await rl.ip_limit(make_exchange(ip="192.0.2.51"))
                outcomes.append(True)
            except ServiceFault as fault:
                assert fault.reason is not None and "per-process" in fault.reason
                outcomes.append(False)
        assert outcomes == [True] * 3 + [False] * 2
        assert state.health.redis_available is False
        assert state.health.fallback_count == 1  # one transition, however many requests
        with pytest.raises(StateUnavailable):
            await state.replay_cache.first_seen("alice:during-outage", 300)

        own_redis.start()  # same port, empty
        await wait_until(lambda: state.health.redis_available)
        assert state.health.recovery_count == 1
        # Back on the shared store: a fresh bucket there, and replay protection works again.
        exchange = make_exchange(ip="192.0.2.51")
        await rl.ip_limit(exchange)
        assert dict(exchange.response_headers)["RateLimit-Remaining"] == "2"
        assert await state.replay_cache.first_seen("alice:after", 300) is True
        assert await state.replay_cache.first_seen("alice:after", 300) is False
        await state.aclose()

    run(scenario())
    messages = [r.getMessage() for r in caplog.records if r.name == "highway.state"]
    assert sum("unreachable" in m for m in messages) == 1
    assert sum("reachable again" in m for m in messages) == 1
