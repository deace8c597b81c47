"""Fixtures for rate-limit and shared-state tests: a real redis-server, exchanges, a runner."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.core.principal import Principal
from tests.ratelimit.redis_proc import RedisProcess, redis_binary

T = TypeVar("T")


def _binary_or_skip() -> str:
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (.ci/run must install it)")
        pytest.skip("redis-server is not installed")
    return binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisProcess]:
    """One redis-server for the whole session (tests that kill Redis use `own_redis`)."""
    server = RedisProcess(_binary_or_skip())
    server.start()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server: RedisProcess) -> str:
    """The shared server's URL, emptied for this test."""
    redis_server.flush()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A redis-server this test may kill and restart."""
    server = RedisProcess(_binary_or_skip())
    server.start()
    yield server
    server.close()


@pytest.fixture(params=["memory", "redis"])
def state_url(request: pytest.FixtureRequest) -> str:
    """Each storage in turn: every behaviour test runs on memory:// and on a real Redis."""
    if request.param == "memory":
        return "memory://"
    return str(request.getfixturevalue("redis_url"))


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on a fresh event loop (no pytest-asyncio here)."""
    return asyncio.run(coro)


def make_exchange(
    ip: str = "192.0.2.10",
    principal: Principal | None = None,
    operation: str | None = None,
) -> Exchange:
    """A SOAP exchange as the stages see it, from `ip`, optionally authenticated."""
    return Exchange(
        correlation_id="test",
        method="POST",
        path="/soap",
        headers={},
        body=b"",
        transport=TransportInfo(peer_ip=ip),
        principal=principal,
        operation=operation,
    )


def headers_of(exchange: Exchange) -> dict[str, str]:
    """Response headers so far, by name."""
    return dict(exchange.response_headers)
