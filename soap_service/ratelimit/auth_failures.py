"""Failed-login defences: failed authentications counted per client IP and per account name, and
a small bounded queue for password hashing (scrypt), separate from the request in-flight cap.

- A client IP or an account name with too many failures in the window is refused with 429
  `Client.RateLimited` (Retry-After) before any password work; the per-IP limit is lower than
  the per-account one, so one hostile address is stopped long before it can throttle someone
  else's account.
- A password already in the verified-password cache never consults either (the cache is checked
  first, by the caller): a legitimate caller keeps working while its account is under attack.
- At most `concurrent` scrypt checks run (in their own threads, never the reactor's) and at most
  `waiting` more wait; beyond that, 503 `Server.Overloaded` (Retry-After) at once.

Counts are per process (memory), bounded in size; with --workers N each worker counts alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.ratelimit.rules import parse_limit
from soap_service.ratelimit.stages import client_key

T = TypeVar("T")
MAX_TRACKED_KEYS = 100_000  # failure counters kept at most (oldest windows dropped first)
AUTH_FAILURE_REASON = "auth-failure"  # fault.reason prefix, for the log
HASH_QUEUE_REASON = "password hashing queue full"


@dataclasses.dataclass(frozen=True)
class Window:
    """At most `amount` failures per `seconds` (a fixed window)."""

    amount: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> Window | None:
        """`10/minute` -> Window(10, 60); `unlimited` -> None."""
        item = parse_limit(text)
        if item is None:
            return None
        return cls(item.amount, float(item.get_expiry()))


class FailureCounter:
    """Fixed-window failure counts per key, bounded to MAX_TRACKED_KEYS entries."""

    def __init__(self, window: Window, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_TRACKED_KEYS) -> None:
        self.window = window
        self._clock = clock
        self._max = max_keys
        self._entries: OrderedDict[str, tuple[float, int]] = OrderedDict()  # key -> (end, n)

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None while it is under its limit."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        end, count = entry
        left = end - self._clock()
        if left <= 0:
            del self._entries[key]
            return None
        return max(1, math.ceil(left)) if count >= self.window.amount else None

    def record(self, key: str) -> None:
        """Count one failure for `key`."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            self._entries[key] = (now + self.window.seconds, 1)
            self._entries.move_to_end(key)
        else:
            self._entries[key] = (entry[0], entry[1] + 1)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)  # the oldest window ends first


def throttled(scope: str, retry_after: int) -> ServiceFault:
    """429 Client.RateLimited for a client IP or account with too many failed logins."""
    return ServiceFault(
        faults.CLIENT_RATE_LIMITED,
        "Too many failed authentications; retry after the number of seconds in "
        "retryAfterSeconds.",
        retry_after=retry_after,
        reason=f"{AUTH_FAILURE_REASON} {scope} limit",
        label=f"auth_failure_{scope}",
    )


def hashing_overloaded(in_use: int) -> ServiceFault:
    """503 Server.Overloaded when the password-hashing queue is full."""
    return ServiceFault(
        faults.SERVER_OVERLOADED,
        "The service is overloaded; retry after the number of seconds in Retry-After.",
        reason=f"{HASH_QUEUE_REASON} ({in_use} checks admitted)",
        label="password_hashing",
    )


class AuthFailureThrottle:
    """Failure counters per client IP and per account name; both None means no throttling."""

    def __init__(self, per_ip: Window | None, per_account: Window | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ip = FailureCounter(per_ip, clock) if per_ip else None
        self._account = FailureCounter(per_account, clock) if per_account else None
        self.refused = 0  # throttled attempts, for tests and logs (metrics count the faults)

    def check(self, peer_ip: str, username: str) -> None:
        """Raise 429 when this IP or this account name is over its failure limit."""
        for scope, counter, key in (("ip", self._ip, client_key(peer_ip)),
                                    ("account", self._account, username)):
            if counter is None:
                continue
            wait = counter.retry_after(key)
            if wait is not None:
                self.refused += 1
                raise throttled(scope, wait)

    def failed(self, peer_ip: str, username: str) -> None:
        """Count one failed authentication against the IP and the account name (known or
        not: counting only real accounts would tell which names exist)."""
        if self._ip is not None:
            self._ip.record(client_key(peer_ip))
        if self._account is not None:
            self._account.record(username)


class HashingQueue:
    """Runs password hashing in its own threads: `concurrent` at once, `waiting` queued,
    anything more refused at once (503) so failed-login floods cannot pile up work."""

    def __init__(self, concurrent: int, waiting: int) -> None:
        if concurrent < 1 or waiting < 0:
            raise ValueError("need at least one hashing thread and a non-negative queue")
        self.capacity = concurrent + waiting
        self.admitted = 0  # running + waiting
        self.refused = 0
        self._executor = ThreadPoolExecutor(max_workers=concurrent,
                                            thread_name_prefix="password-hash")

    async def run(self, work: Callable[..., T], *args: object) -> T:
        """`work(*args)` in a hashing thread, or ServiceFault 503 if the queue is full."""
        if self.admitted >= self.capacity:
            self.refused += 1
            raise hashing_overloaded(self.admitted)
        self.admitted += 1
        loop = asyncio.get_running_loop()
        job: Future[T] = self._executor.submit(work, *args)
        # The slot is freed when the thread is done (or the job was cancelled before it ran),
        # not when the awaiting request goes away: a running check still occupies a thread.
        job.add_done_callback(lambda _: _call_soon(loop, self._release))
        return await asyncio.wrap_future(job, loop=loop)

    def _release(self) -> None:
        self.admitted -= 1


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    """Schedule `callback` on the loop from a worker thread; a closed loop (shutdown) is fine."""
    try:
        loop.call_soon_threadsafe(callback)
    except RuntimeError:
        pass
