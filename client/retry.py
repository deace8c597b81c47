"""Client-side pacing: honour Retry-After on 429/503 with bounded, jittered retries, and read
the remaining quota from the RateLimit-* response headers."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from client import errors

# Refusals that say when to come back; anything else is final.
RETRYABLE = errors.RETRYABLE_FAULTS

T = TypeVar("T")

READ_OPERATIONS = frozenset({"ListHighways", "GetTravelTimes"})
# ReportObservations is idempotent (a batch re-sent is counted as duplicates), so it is safe.
ALL_OPERATIONS = READ_OPERATIONS | {"ReportObservations"}


@dataclasses.dataclass(frozen=True)
class RateLimitInfo:
    """The quota the service advertised on its last answer (RateLimit-* headers)."""

    limit: int  # requests allowed in the window
    remaining: int  # requests left in the window
    reset_seconds: int  # seconds until the window resets
    observed_at: float  # time.monotonic() when the answer arrived

    @classmethod
    def from_headers(
        cls, headers: Mapping[str, str], now: float | None = None
    ) -> RateLimitInfo | None:
        """Parse RateLimit-Limit/-Remaining/-Reset; None if absent or malformed."""
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            return cls(
                limit=int(lowered["ratelimit-limit"]),
                remaining=int(lowered["ratelimit-remaining"]),
                reset_seconds=int(lowered["ratelimit-reset"]),
                observed_at=time.monotonic() if now is None else now,
            )
        except (KeyError, ValueError):
            return None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait when the service says "later" (429 or 503).

    A wait longer than `max_wait_seconds` is not slept through: the error goes to the caller,
    who can decide (a quota reset a minute away should not hang an interactive call)."""

    max_attempts: int = 3  # total tries, the first included
    max_wait_seconds: float = 10.0
    jitter: float = 0.2  # up to 20% extra wait, so many clients do not return in lockstep
    default_wait_seconds: float = 1.0  # when the service gave no Retry-After
    operations: frozenset[str] = ALL_OPERATIONS

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.max_wait_seconds < 0 or self.jitter < 0:
            raise ValueError("waits and jitter must not be negative")

    def delay_for(self, error: errors.ServiceFaultError, rng: random.Random) -> float | None:
        """Seconds to sleep before retrying after `error`, or None not to retry it."""
        if not isinstance(error, RETRYABLE):
            return None
        wait = error.retry_after
        if wait is None:
            wait = self.default_wait_seconds
        if wait > self.max_wait_seconds:
            return None
        # Never earlier than asked: jitter only adds.
        return wait * (1.0 + rng.uniform(0.0, self.jitter))


NO_RETRY = RetryPolicy(max_attempts=1)


def _attempts(policy: RetryPolicy, operation_name: str) -> int:
    return policy.max_attempts if operation_name in policy.operations else 1


def _delay_after(policy: RetryPolicy, exc: errors.ServiceFaultError, attempt: int,
                 attempts: int, rng: random.Random | None) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up and raise `exc`."""
    if attempt >= attempts:
        return None
    # Seeded only when a retry is considered: seeding reads os.urandom (~10 µs a call).
    return policy.delay_for(exc, rng or random.Random())


def call_with_retry(
    policy: RetryPolicy,
    operation_name: str,
    call: Callable[[], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Run `call`, retrying per `policy` when it raises a retryable ServiceFaultError."""
    attempts = _attempts(policy, operation_name)
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except errors.ServiceFaultError as exc:
            delay = _delay_after(policy, exc, attempt, attempts, rng)
            if delay is None:
                raise
            sleep(delay)
    raise AssertionError("unreachable")  # the loop either returns or raises


async def call_with_retry_async(
    policy: RetryPolicy,
    operation_name: str,
    call: Callable[[], Awaitable[T]],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> T:
    """The same policy as call_with_retry for a coroutine; waits without blocking the loop."""
    attempts = _attempts(policy, operation_name)
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except errors.ServiceFaultError as exc:
            delay = _delay_after(policy, exc, attempt, attempts, rng)
            if delay is None:
                raise
            await sleep(delay)
    raise AssertionError("unreachable")  # the loop either returns or raises
