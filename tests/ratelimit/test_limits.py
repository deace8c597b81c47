"""Burst behaviour of the rate-limit stages, on every storage (memory and a real Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest

from soap_service import faults
from soap_service.core.principal import Principal
from soap_service.faults import ServiceFault
from soap_service.ratelimit.build import build_rate_limiting
from soap_service.ratelimit.settings import RateLimitSettings
from soap_service.ratelimit.stages import client_key
from soap_service.state.shared import open_state
from tests.ratelimit.conftest import headers_of, make_exchange, run

ALICE = Principal("alice", "reader", "password-digest")
BOB = Principal("bob", "reader", "password-digest")
OPS = Principal("ops", "operator", "password-digest")


def build(state_url: str, **overrides: object):  # noqa: ANN201
    settings = RateLimitSettings(state_url=state_url, **overrides)  # type: ignore[arg-type]
    state = open_state(state_url)
    return state, build_rate_limiting(settings, state)


async def burst(stage, make, n: int) -> tuple[list, list[ServiceFault]]:  # noqa: ANN001
    """Send n exchanges through a stage; returns the passed exchanges and the faults."""
    passed, refused = [], []
    for _ in range(n):
        exchange = make()
        try:
            await stage(exchange)
            passed.append(exchange)
        except ServiceFault as fault:
            refused.append(fault)
            passed.append(None)
    return passed, refused


@pytest.mark.parametrize("strategy", ["fixed-window", "moving-window", "sliding-window-counter"])
def test_principal_burst_then_429_and_others_unaffected(state_url: str, strategy: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, strategy=strategy,
                          rate_limits=("reader:GetTravelTimes=5/minute",))
        stage = rl.principal_limit
        passed, refused = await burst(
            stage, lambda: make_exchange(principal=ALICE, operation="GetTravelTimes"), 7)
        assert [p is not None for p in passed] == [True] * 5 + [False] * 2
        remaining = [int(headers_of(p)["RateLimit-Remaining"]) for p in passed[:5]]
        assert remaining == [4, 3, 2, 1, 0]
        assert all(headers_of(p)["RateLimit-Limit"] == "5" for p in passed[:5])
        fault = refused[0]
        assert fault.code == faults.CLIENT_RATE_LIMITED and fault.http_status == 429
        retry_after = dict(fault.headers)["Retry-After"]
        assert 1 <= int(retry_after) <= 60
        assert fault.detail == {"retryAfterSeconds": retry_after}

        # Another principal, and another operation of the same principal, are unaffected.
        bob = make_exchange(principal=BOB, operation="GetTravelTimes")
        await stage(bob)
        assert headers_of(bob)["RateLimit-Remaining"] == "4"
        await stage(make_exchange(principal=ALICE, operation="ListHighways"))
        await state.aclose()

    run(scenario())


def test_refusal_headers_on_the_exchange(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, rate_limits=("account:ops=2/minute",))
        for _ in range(2):
            await rl.principal_limit(make_exchange(principal=OPS, operation="ReportObservations"))
        refused = make_exchange(principal=OPS, operation="ListHighways")  # shared bucket
        with pytest.raises(ServiceFault) as info:
            await rl.principal_limit(refused)
        names = [name for name, _ in refused.response_headers]
        assert sorted(names) == ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]
        assert headers_of(refused)["RateLimit-Remaining"] == "0"
        assert int(headers_of(refused)["RateLimit-Reset"]) >= 1
        assert info.value.reason is not None and "account:ops=2/minute" in info.value.reason
        await state.aclose()

    run(scenario())


def test_ip_burst_refused_before_auth_other_ip_unaffected(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, ip_rate_limit="3/minute")
        assert rl.ip_limit is not None
        passed, refused = await burst(rl.ip_limit, lambda: make_exchange(ip="198.51.100.7"), 5)
        assert [p is not None for p in passed] == [True] * 3 + [False] * 2
        assert refused[0].code == faults.CLIENT_RATE_LIMITED
        assert refused[0].http_status == 429
        await rl.ip_limit(make_exchange(ip="198.51.100.8"))
        # One IPv6 host owns a /64: rotating addresses inside it does not buy a new bucket.
        hosts = iter(range(1, 100))
        _, refused6 = await burst(
            rl.ip_limit, lambda: make_exchange(ip=f"2001:db8::{next(hosts):x}"), 4)
        assert len(refused6) == 1
        await state.aclose()

    run(scenario())


def test_strict_wsi_faults_use_http_500(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, ip_rate_limit="1/minute", strict_wsi_faults=True)
        assert rl.ip_limit is not None
        await rl.ip_limit(make_exchange())
        with pytest.raises(ServiceFault) as info:
            await rl.ip_limit(make_exchange())
        assert info.value.http_status == 500
        assert info.value.code == faults.CLIENT_RATE_LIMITED
        assert "Retry-After" in dict(info.value.headers)
        await state.aclose()

    run(scenario())


def test_tightest_quota_is_advertised(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, ip_rate_limit="100/minute",
                          rate_limits=("reader:GetTravelTimes=3/minute",))
        assert rl.ip_limit is not None
        exchange = make_exchange(principal=ALICE, operation="GetTravelTimes")
        await rl.ip_limit(exchange)
        await rl.principal_limit(exchange)
        names = [name for name, _ in exchange.response_headers]
        assert names.count("RateLimit-Remaining") == 1
        assert headers_of(exchange)["RateLimit-Limit"] == "3"
        assert headers_of(exchange)["RateLimit-Remaining"] == "2"
        await state.aclose()

    run(scenario())


def test_limit_resets_after_the_window(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, ip_rate_limit="2/second")
        assert rl.ip_limit is not None
        _, refused = await burst(rl.ip_limit, lambda: make_exchange(ip="203.0.113.5"), 3)
        assert len(refused) == 1
        # Wait out the window the service announced, then the bucket is full again.
        deadline = time.monotonic() + 5
        while True:
            await asyncio.sleep(0.25)
            try:
                await rl.ip_limit(make_exchange(ip="203.0.113.5"))
                break
            except ServiceFault:
                assert time.monotonic() < deadline, "limit never reset"
        await state.aclose()

    run(scenario())


def test_unlimited_rules_and_anonymous_are_not_counted(state_url: str) -> None:
    async def scenario() -> None:
        state, rl = build(state_url, ip_rate_limit="unlimited",
                          rate_limits=("account:alice=unlimited",))
        assert rl.ip_limit is None
        for _ in range(700):  # beyond the 600/minute default for readers
            await rl.principal_limit(make_exchange(principal=ALICE, operation="GetTravelTimes"))
        await rl.principal_limit(make_exchange(principal=None, operation="GetTravelTimes"))
        await state.aclose()

    run(scenario())


def test_client_key() -> None:
    assert client_key("192.0.2.1") == "192.0.2.1"
    assert client_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert client_key("not-an-ip") == "not-an-ip"


def test_memory_storage_sweeps_at_most_once_a_second() -> None:
    """SweepingMemoryStorage throttles limits' private sweep scheduler (the hook itself is
    checked in tests/compat/test_compat.py), so a flood of keys does not scan on every hit."""
    from soap_service.compat.limits import ThrottledSweepMemoryStorage
    from soap_service.ratelimit.counters import SweepingMemoryStorage

    storage = SweepingMemoryStorage()
    assert isinstance(storage, ThrottledSweepMemoryStorage)
    assert storage.should_sweep() is True
    assert storage.should_sweep() is False  # within the interval
    storage._next_sweep = 0.0  # the interval has passed
    assert storage.should_sweep() is True


def test_counter_keys_follow_item_identity_namespace_included() -> None:
    # Two items equal by limits' __eq__ (same amount and period) but in different namespaces
    # count apart; the remembered key is the one key_for gives.
    import asyncio

    from limits import parse

    from soap_service.ratelimit.counters import Counter, make_storage

    first, second = parse("2/minute"), parse("2/minute")
    second.namespace = "OTHER"
    assert first == second and first.key_for("ip", "a") != second.key_for("ip", "a")
    counter = Counter(make_storage("memory://"), "fixed-window", shared=False)

    async def scenario() -> list[bool]:
        hits = [first, first, first, second, second, second]
        return [(await counter.hit(item, "ip", "a")).allowed for item in hits]

    assert asyncio.run(scenario()) == [True, True, False, True, True, False]
