"""Rate limits, load shedding and scale-out against the real server (and a real Redis)."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import redis

from client import HighwayClient, RateLimitedError
from client.retry import NO_RETRY, RetryPolicy
from tests.conftest import RunningServer
from tests.ratelimit.redis_proc import RedisProcess
from tests.soap_helpers import RawResponse, envelope, request

LIST = envelope("<t:ListHighways/>")
Factory = Callable[..., RunningServer]


def post(server: RunningServer) -> RawResponse:
    """One ListHighways on a fresh connection."""
    return request(server.url, LIST)


def wait_for_log(server: RunningServer, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log_text():
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.05)


def test_burst_over_the_wire_with_the_real_client(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "3/minute")
    with HighwayClient(url=server.url, timeout=10, retry=NO_RETRY) as client:
        for expected_remaining in (2, 1, 0):
            client.list_highways()
            quota = client.last_rate_limit
            assert quota is not None and quota.limit == 3
            assert quota.remaining == expected_remaining and 1 <= quota.reset_seconds <= 60
        with pytest.raises(RateLimitedError) as info:
            client.list_highways()
    assert info.value.http_status == 429 and info.value.code == "Client.RateLimited"
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 60
    raw = post(server)
    assert raw.status == 429
    assert raw.fault()[0] == "soap:Client.RateLimited"
    assert raw.headers["retry-after"] == raw.fault_detail()["retryAfterSeconds"]
    assert raw.headers["ratelimit-remaining"] == "0" and raw.headers["ratelimit-limit"] == "3"
    assert request(server.base_url + "/healthz", method="GET").status == 200  # not counted


def test_strict_wsi_faults_over_the_wire(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "1/minute",
                            "--strict-wsi-faults")
    assert post(server).status == 200
    refused = post(server)
    assert refused.status == 500 and refused.fault()[0] == "soap:Client.RateLimited"
    assert "retry-after" in refused.headers


def test_client_waits_out_retry_after(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--ip-rate-limit", "2/second")
    policy = RetryPolicy(max_attempts=4, max_wait_seconds=3)
    with HighwayClient(url=server.url, timeout=10, retry=policy) as client:
        for _ in range(5):
            client.list_highways()  # the third call inside one second is refused, then retried
    assert "Client.RateLimited" in server.log_text()


def test_overload_excess_gets_503_at_once_and_health_answers(server_factory: Factory) -> None:
    server = server_factory("--no-require-auth", "--max-in-flight", "2",
                            "--ip-rate-limit", "unlimited", operation_delay=2)
    finished: list[int] = []

    def one() -> RawResponse:
        response = post(server)
        finished.append(response.status)
        return response

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(one) for _ in range(5)]
        time.sleep(0.5)
        # While two slow requests hold the cap, health checks still answer.
        assert request(server.base_url + "/healthz", method="GET").status == 200
        responses = [f.result() for f in futures]
    assert sorted(r.status for r in responses) == [200, 200, 503, 503, 503]
    assert finished[:3] == [503, 503, 503]  # refused without waiting for the slow ones
    for refused in (r for r in responses if r.status == 503):
        assert refused.fault()[0] == "soap:Server.Overloaded"
        assert refused.headers["retry-after"] == "1"


def test_two_servers_sharing_redis_enforce_one_limit(
    server_factory: Factory, redis_url: str
) -> None:
    """Two processes (as on two machines behind a load balancer) share the counters."""
    flags = ("--no-require-auth", "--state-url", redis_url, "--ip-rate-limit", "4/minute")
    first, second = server_factory(*flags), server_factory(*flags)
    statuses = [post(server).status for server in (first, second) * 3]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_workers_share_the_socket_and_the_limit(
    server_factory: Factory, redis_url: str
) -> None:
    server = server_factory("--no-require-auth", "--workers", "2", "--state-url", redis_url,
                            "--ip-rate-limit", "6/minute")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: post(server).status, range(14)))
    assert statuses.count(200) == 6 and statuses.count(429) == 8
    assert server.stop() == 0


def test_replay_cache_shared_across_processes(redis_url: str) -> None:
    """A nonce recorded by one process is refused in another (state level; see README)."""
    script = (
        "import asyncio, sys\n"
        "from soap_service.state.shared import open_state\n"
        "async def main():\n"
        "    state = open_state(sys.argv[1])\n"
        "    new = await state.replay_cache.first_seen('ut:alice:nonce-xyz', 300)\n"
        "    await state.aclose()\n"
        "    print('new' if new else 'replayed')\n"
        "asyncio.run(main())\n"
    )
    outputs = [
        subprocess.run([sys.executable, "-c", script, redis_url], capture_output=True,
                       text=True, check=True, timeout=30).stdout.strip()
        for _ in range(2)
    ]
    assert outputs == ["new", "replayed"]


def test_redis_killed_with_live_server_then_restarted(
    server_factory: Factory, own_redis: RedisProcess
) -> None:
    server = server_factory("--no-require-auth", "--state-url", own_redis.url,
                            "--ip-rate-limit", "5/minute")
    assert [post(server).headers["ratelimit-remaining"] for _ in range(2)] == ["4", "3"]

    own_redis.kill()
    during = [post(server) for _ in range(3)]
    # Still answering, now counted per process (a fresh bucket of the same size).
    assert [r.status for r in during] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in during] == ["4", "3", "2"]
    assert server.log_text().count("redis unreachable") == 1

    own_redis.start()
    wait_for_log(server, "redis reachable again")
    assert post(server).headers["ratelimit-remaining"] == "4"  # Redis bucket, empty again
    keys = redis.Redis.from_url(own_redis.url).keys("LIMITS:*")
    assert keys, "counters are back in Redis"
