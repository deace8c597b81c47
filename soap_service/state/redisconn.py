"""One asyncio Redis client per process, with timeouts short enough never to stall requests."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

# What a Redis outage looks like from redis-py: its own errors (ConnectionError, TimeoutError
# are RedisError subclasses) and the OS errors a dying socket can raise directly.
REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)

# A request waits at most this long on Redis before it is treated as down. Loopback or LAN
# Redis answers in well under a millisecond, so this only bounds the bad case.
SOCKET_TIMEOUT_SECONDS = 0.5


def is_redis_url(url: str) -> bool:
    """True for redis:// and rediss:// state URLs."""
    return url.startswith(("redis://", "rediss://"))


def connect(url: str, *, timeout: float = SOCKET_TIMEOUT_SECONDS) -> aioredis.Redis:
    """A redis.asyncio client for `url`; connects lazily, on the running event loop.

    No automatic retries: a failed call is reported at once and the StateHealth probe does the
    retrying in the background, so no request sits through redis-py's retry backoff."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
