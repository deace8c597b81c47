"""The client's retry policy and quota parsing (the live behaviour is in test_live.py)."""

from __future__ import annotations

import random

import pytest

from client import errors
from client.retry import NO_RETRY, RateLimitInfo, RetryPolicy, call_with_retry


def limited(seconds: str | None = "2") -> errors.RateLimitedError:
    detail = {"retryAfterSeconds": seconds} if seconds is not None else {}
    return errors.RateLimitedError("slow down", code="Client.RateLimited", http_status=429,
                                   detail=detail)


def flaky(failures: list[errors.ServiceFaultError]):  # noqa: ANN201
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return call, calls


def test_retries_after_the_announced_wait_with_bounded_jitter() -> None:
    slept: list[float] = []
    call, calls = flaky([limited("2"), errors.OverloadedError(
        "busy", code="Server.Overloaded", http_status=503, detail={"retryAfterSeconds": "1"})])
    policy = RetryPolicy(max_attempts=3, jitter=0.2)
    assert call_with_retry(policy, "GetTravelTimes", call, sleep=slept.append,
                           rng=random.Random(7)) == "ok"
    assert len(calls) == 3
    assert 2.0 <= slept[0] <= 2.4 and 1.0 <= slept[1] <= 1.2  # never earlier than asked


def test_gives_up_after_max_attempts_and_on_long_waits() -> None:
    call, calls = flaky([limited("1")] * 5)
    with pytest.raises(errors.RateLimitedError):
        call_with_retry(RetryPolicy(max_attempts=2), "ListHighways", call, sleep=lambda _: None)
    assert len(calls) == 2
    call, calls = flaky([limited("60")])
    with pytest.raises(errors.RateLimitedError):
        call_with_retry(RetryPolicy(max_wait_seconds=10), "ListHighways", call,
                        sleep=lambda _: None)
    assert len(calls) == 1  # a minute away: the caller decides, the client does not hang


def test_only_pacing_faults_and_configured_operations_are_retried() -> None:
    call, calls = flaky([errors.ValidationError("bad", code="Client.SchemaValidation")])
    with pytest.raises(errors.ValidationError):
        call_with_retry(RetryPolicy(), "GetTravelTimes", call, sleep=lambda _: None)
    assert len(calls) == 1
    reads_only = RetryPolicy(operations=frozenset({"GetTravelTimes"}))
    call, calls = flaky([limited("1")])
    with pytest.raises(errors.RateLimitedError):
        call_with_retry(reads_only, "ReportObservations", call, sleep=lambda _: None)
    call, calls = flaky([limited(None)])  # no Retry-After: the default wait
    slept: list[float] = []
    call_with_retry(RetryPolicy(jitter=0), "ReportObservations", call, sleep=slept.append)
    assert slept == [1.0]
    call, calls = flaky([limited("1")])
    with pytest.raises(errors.RateLimitedError):
        call_with_retry(NO_RETRY, "ListHighways", call, sleep=lambda _: None)


def test_rate_limit_info_from_headers() -> None:
    info = RateLimitInfo.from_headers(
        {"RateLimit-Limit": "600", "ratelimit-remaining": "12", "RATELIMIT-RESET": "30"}, now=5.0)
    assert info == RateLimitInfo(limit=600, remaining=12, reset_seconds=30, observed_at=5.0)
    assert RateLimitInfo.from_headers({"RateLimit-Limit": "600"}) is None
    assert RateLimitInfo.from_headers({"RateLimit-Limit": "x", "RateLimit-Remaining": "1",
                                       "RateLimit-Reset": "1"}) is None
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
