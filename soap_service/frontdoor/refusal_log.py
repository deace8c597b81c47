"""Rate-limited logging of refusals: a flood of hostile requests must not become a flood of
log lines (disk, CPU, and the operator's attention)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("highway.frontdoor")


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up; `take()` spends one if it can."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = threading.Lock()  # log calls may come from Spyne's or the store's threads

    def take(self) -> bool:
        """Spend one token; False when the bucket is empty."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class RefusalLogFilter(logging.Filter):
    """Lets ordinary records through; records marked `refusal=True` (via `extra`) only while
    the bucket has tokens. The next record let through reports how many were dropped."""

    def __init__(self, bucket: TokenBucket) -> None:
        super().__init__()
        self.bucket = bucket
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit the record."""
        if not is_refusal(record):
            return True
        if not self.bucket.take():
            self.suppressed += 1
            return False
        if self.suppressed:
            access = getattr(record, "access", None)
            if isinstance(access, dict):  # the access log formats its fields, not msg
                record.access = {**access, "refusals_suppressed": self.suppressed}
            else:
                record.msg = f"{record.msg} (%d refusal log lines suppressed before this one)"
                record.args = (*_as_tuple(record.args), self.suppressed)
            self.suppressed = 0
        return True


def is_refusal(record: logging.LogRecord) -> bool:
    """A record marked `refusal=True`, or an access-log line (ops/access_log.py) of a request
    refused for the caller's fault."""
    if getattr(record, "refusal", False):
        return True
    access = getattr(record, "access", None)
    return isinstance(access, dict) and access.get("outcome") == "client_fault"


def _as_tuple(args: object) -> tuple[object, ...]:
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    return (args,)


_filter = RefusalLogFilter(TokenBucket(rate=5.0, burst=50))
log.addFilter(_filter)


def configure(rate: float, burst: int) -> RefusalLogFilter:
    """Set the refusal log rate; returns the filter so others can attach it to their loggers."""
    _filter.bucket = TokenBucket(rate, burst)
    return _filter


def refusal_filter() -> RefusalLogFilter:
    """The shared filter, for any logger that logs refusals with extra={'refusal': True}."""
    return _filter


def log_refusal(status: int, code: str, correlation_id: str, peer: str, reason: str) -> None:
    """One rate-limited line per refusal: never the request's content, only what was decided."""
    log.info(
        "refused status=%d code=%s peer=%s reason=%s cid=%s",
        status, code, peer, reason, correlation_id,
        extra={"refusal": True},
    )
