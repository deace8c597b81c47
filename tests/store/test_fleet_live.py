"""The fleet: one PostgreSQL, one redis-server, two `highway-server serve` processes on two
ports, as two machines behind a balancer would run them."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench import workload
from client import HighwayClient, errors
from client.models import Observation
from client.retry import NO_RETRY
from soap_service.security.digest_secrets import create_key_file
from tests.conftest import ROOT, RunningServer, start_server
from tests.ratelimit.redis_proc import RedisProcess, redis_binary
from tests.soap_helpers import request
from tests.store.pg_proc import PostgresProcess, pg_bindir
from tests.store.test_storage_failures_live import assert_unavailable, readyz, wait_for

PASSWORD = "fleet-password-1"
LIMIT = 6  # requests per minute for the account fleet-limited, on the whole fleet


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[PostgresProcess, str, Path, list[RunningServer]]]:
    bindir, redis_path = pg_bindir(), redis_binary()
    if bindir is None or redis_path is None:
        pytest.skip("needs PostgreSQL and redis-server (.ci/setup installs both)")
    postgres = PostgresProcess(bindir)
    postgres.start()
    redis = RedisProcess(redis_path)
    redis.start()
    key = tmp_path / "accounts.key"
    create_key_file(str(key))  # distributed to every machine (the same file)
    url = postgres.create_database("fleet")
    common = ("--state-url", redis.url, "--db-timeout", "1",
              "--rate-limit", f"account:fleet-limited={LIMIT}/minute")
    servers: list[RunningServer] = []
    try:
        # Both spellings of the key-file flag: --account-key-file and --accounts-key-file.
        for flag in ("--account-key-file", "--accounts-key-file"):
            servers.append(
                start_server(tmp_path, *common, flag, str(key), db=url)  # type: ignore[arg-type]
            )
        yield postgres, url, key, servers
    finally:
        for server in servers:
            server.stop()
        redis.kill()
        postgres.cleanup()


def _users_add(url: str, key: Path, name: str, role: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "soap_service", "users", "add", name, "--role", role, "--digest",
         "--db", url, "--account-key-file", str(key)],
        input=PASSWORD + "\n", text=True, check=True, cwd=ROOT, capture_output=True,
    )


def _batch(prefix: str, count: int, speed: float) -> list[Observation]:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    return [Observation(f"{prefix}-{i}", "192-EB-01", at, speed) for i in range(count)]


def _count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT COUNT(*) FROM observations").fetchone()
        return int(row[0]) if row else 0


def test_two_servers_share_one_postgresql(
    fleet: tuple[PostgresProcess, str, Path, list[RunningServer]],
) -> None:
    postgres, url, key, (a, b) = fleet
    # An account added once, while both run, logs in on both: text and digest.
    _users_add(url, key, "fleet-op", "operator")
    time.sleep(1.2)  # the account cache TTL (1 s): a "not found" cached before may age out
    for server in (a, b):
        for digest in (False, True):
            with HighwayClient(url=server.url, username="fleet-op", password=PASSWORD,
                               digest=digest) as client:
                assert client.list_highways()

    with HighwayClient(url=b.url, username="fleet-op", password=PASSWORD) as on_b:
        on_b.travel_times("192", "EB")  # B has a cached answer now
    batch = _batch("fleet", 50, 11.0)
    with HighwayClient(url=a.url, username="fleet-op", password=PASSWORD) as on_a:
        assert on_a.report_observations(batch).accepted == 50
    with HighwayClient(url=b.url, username="fleet-op", password=PASSWORD) as on_b:
        (eb,) = on_b.travel_times("192", "EB")  # B's next read sees A's acknowledged write
        assert eb.segments[0].speed_kph == 11.0
        again = on_b.report_observations(batch)  # the retry reaching B: all duplicates
        assert (again.accepted, again.duplicates) == (0, 50)

    # A digest nonce used on A is refused on B (the replay cache lives in Redis).
    _users_add(url, key, "fleet-reader", "reader")
    time.sleep(1.2)
    signed = workload.digest_request("fleet-reader", PASSWORD)
    assert request(a.url, signed).status == 200
    replayed = request(b.url, signed)
    assert replayed.status != 200 and b"GetTravelTimesResponse" not in replayed.body

    # PostgreSQL stops: both answer 503 Server.Unavailable with Retry-After, /readyz 503.
    acknowledged = _count(url)
    postgres.stop("immediate")
    for server in (a, b):
        started = time.monotonic()
        assert_unavailable(request(server.url, workload.digest_request("fleet-reader", PASSWORD)))
        assert time.monotonic() - started < 5.0
        assert wait_for(lambda s=server: readyz(s)[0] == 503)  # type: ignore[misc]
    with HighwayClient(url=a.url, username="fleet-op", password=PASSWORD,
                       retry=NO_RETRY) as on_a:
        with pytest.raises(errors.UnavailableError) as info:
            on_a.report_observations(_batch("lost", 5, 20.0))
        assert info.value.code.endswith("Server.Unavailable") and info.value.http_status == 503

    # It returns: both recover by themselves, nothing acknowledged was lost.
    postgres.start()
    for server in (a, b):
        assert wait_for(lambda s=server: readyz(s)[0] == 200, timeout=30)  # type: ignore[misc]
    with HighwayClient(url=b.url, username="fleet-op", password=PASSWORD) as on_b:
        assert on_b.report_observations(_batch("after", 10, 30.0)).accepted == 10
    assert _count(url) == acknowledged + 10
    for server in (a, b):
        assert "Traceback" not in server.log_text()


def test_rate_limits_are_shared(
    fleet: tuple[PostgresProcess, str, Path, list[RunningServer]],
) -> None:
    _, url, key, (a, b) = fleet
    _users_add(url, key, "fleet-limited", "reader")
    # The limit's window opens at the account's first request (limits' fixed window with a
    # Redis expiry), so these LIMIT + 2 requests all fall in one window.
    clients = [HighwayClient(url=server.url, username="fleet-limited", password=PASSWORD,
                             retry=NO_RETRY) for server in (a, b)]
    try:
        for i in range(LIMIT):  # spread over A and B: each machine alone sees only half
            assert clients[i % 2].list_highways()
        for client in clients:  # the next one on either machine is over the fleet's limit
            with pytest.raises(errors.RateLimitedError) as info:
                client.list_highways()
            assert info.value.code.endswith("Client.RateLimited")
            assert info.value.http_status == 429 and info.value.retry_after
    finally:
        for client in clients:
            client.close()
