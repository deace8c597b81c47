"""AsyncHighwayClient against the real server: every operation, faults, retries, concurrency."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
from collections.abc import Callable

import pytest

from client import AsyncHighwayClient, DirectionTravelTime, HighwayClient, Observation, errors
from client.retry import NO_RETRY, RetryPolicy
from tests.conftest import RunningServer

Factory = Callable[..., RunningServer]
AS_OF = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _timeless(results: list[DirectionTravelTime]) -> list[DirectionTravelTime]:
    """The results without `as_of` (the server's clock, which moves between two calls)."""
    return [dataclasses.replace(tt, as_of=AS_OF) for tt in results]


def _fresh(sensor: str, segment: str = "192-EB-01") -> Observation:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=10)
    return Observation(sensor, segment, at, 37.5)


def test_every_operation_matches_the_sync_client(open_server: RunningServer) -> None:
    async def scenario() -> None:
        sent = _fresh("async-1", "217-NB-02")
        async with AsyncHighwayClient(url=open_server.url) as client:
            first = await client.report_observations([sent])
            again = await client.report_observations([sent])
            assert (first.accepted, first.duplicates) == (1, 0)
            assert (again.accepted, again.duplicates) == (0, 1)
            highways = await client.list_highways()
            (nb,) = await client.travel_times("Highway 217", "nb")
            everything = await client.travel_times(192)
        with HighwayClient(url=open_server.url) as sync:
            assert highways == sync.list_highways()
            assert _timeless([nb]) == _timeless(sync.travel_times("217", "NB"))
            assert _timeless(everything) == _timeless(sync.travel_times("192"))
        assert nb.segments[1].observed_at == sent.observed_at
        assert {tt.direction for tt in everything} == {"EB", "WB"}

    asyncio.run(scenario())


def test_faults_are_the_same_exceptions(open_server: RunningServer) -> None:
    async def scenario() -> errors.UnknownHighwayError:
        async with AsyncHighwayClient(url=open_server.url) as client:
            with pytest.raises(errors.ValidationError):
                await client.travel_times("not a highway")
            with pytest.raises(errors.UnknownHighwayError) as info:
                await client.travel_times("999")
            return info.value

    fault = asyncio.run(scenario())
    with pytest.raises(errors.UnknownHighwayError) as sync:
        HighwayClient(url=open_server.url).travel_times("999")
    assert fault.code == "Client.UnknownHighway" and fault.http_status == 500
    assert fault.correlation_id and str(fault) == str(sync.value)


def test_authentication_fault(server_factory: Factory) -> None:
    server = server_factory()  # authentication required; no account given

    async def scenario() -> None:
        async with AsyncHighwayClient(url=server.url) as client:
            with pytest.raises(errors.AuthenticationError) as info:
                await client.list_highways()
        assert info.value.code == "wsse:InvalidSecurity"

    asyncio.run(scenario())


def test_rate_limit_is_retried_per_policy(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "2/second")

    async def scenario() -> None:
        policy = RetryPolicy(max_attempts=4, max_wait_seconds=3)
        async with AsyncHighwayClient(url=server.url, retry=policy) as client:
            for _ in range(5):  # the third call inside one second is refused, then retried
                assert await client.list_highways()
        async with AsyncHighwayClient(url=server.url, retry=NO_RETRY) as client:
            with pytest.raises(errors.RateLimitedError) as info:
                for _ in range(5):
                    await client.list_highways()
            quota = client.last_rate_limit
        assert info.value.http_status == 429 and info.value.retry_after is not None
        assert quota is not None and quota.limit == 2 and quota.remaining == 0

    asyncio.run(scenario())
    assert "Client.RateLimited" in server.log_text()


def test_concurrent_calls_on_one_client(open_server: RunningServer) -> None:
    async def scenario() -> None:
        async with AsyncHighwayClient(url=open_server.url) as client:
            answers = await asyncio.gather(
                *(client.travel_times("192", "EB") for _ in range(8)),
                client.travel_times("999"), return_exceptions=True)
        assert all(isinstance(a, list) and a[0].direction == "EB" for a in answers[:8])
        assert isinstance(answers[8], errors.UnknownHighwayError)

    asyncio.run(scenario())


def test_unreachable_and_bad_input() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def scenario() -> None:
        async with AsyncHighwayClient(url=f"http://127.0.0.1:{port}/soap", timeout=2) as c:
            with pytest.raises(errors.TransportError, match="cannot reach"):
                await c.list_highways()
            with pytest.raises(ValueError, match="time zone"):
                await c.report_observations([Observation("s", "192-EB-01",
                                                         dt.datetime.now(), 20)])

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="timeout"):
        AsyncHighwayClient(url="http://127.0.0.1:1/soap", timeout=0)


def test_env_fallback_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIGHWAY_URL", "http://127.0.0.1:1/soap")
    monkeypatch.setenv("HIGHWAY_USERNAME", "demo")
    monkeypatch.setenv("HIGHWAY_PASSWORD", "s3cret-pw")
    client = AsyncHighwayClient.from_env()
    assert client.url == "http://127.0.0.1:1/soap" and client.username == "demo"
    assert "s3cret-pw" not in repr(client) and repr(client).startswith("AsyncHighwayClient(")
    asyncio.run(client.aclose())


class _NoOpPlugin:
    """Any plugin switches the lean read path off (plugins must see every answer)."""

    def ingress(self, envelope, http_headers, operation):  # type: ignore[no-untyped-def]
        return envelope, http_headers

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        return envelope, http_headers


def test_lean_and_zeep_paths_agree(open_server: RunningServer) -> None:
    from client.fast_reads import AsyncFastRead

    async def scenario() -> None:
        async with AsyncHighwayClient(url=open_server.url) as lean, AsyncHighwayClient(
                url=open_server.url, plugins=[_NoOpPlugin()]) as full:
            assert isinstance(lean._operations["GetTravelTimes"], AsyncFastRead)
            assert not isinstance(full._operations["GetTravelTimes"], AsyncFastRead)
            assert await lean.list_highways() == await full.list_highways()
            for highway, direction in (("217", "NB"), ("192", None)):
                assert (_timeless(await lean.travel_times(highway, direction))
                        == _timeless(await full.travel_times(highway, direction)))
            with pytest.raises(errors.UnknownHighwayError) as a:
                await lean.travel_times("999")
            with pytest.raises(errors.UnknownHighwayError) as b:
                await full.travel_times("999")
            assert str(a.value) == str(b.value) and a.value.http_status == 500

    asyncio.run(scenario())
