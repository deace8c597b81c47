"""Issue #5 checks that need the WS-Security stages, over the wire: per-principal limits with
real accounts, replay protection and one limit across processes sharing Redis, and a Redis
outage under a live server."""

from __future__ import annotations

import dataclasses
import http.client
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from lxml import etree

from client import HighwayClient, RateLimitedError
from client.errors import ServiceFaultError, UnavailableError
from client.retry import NO_RETRY
from client.wsse import UsernameTokenSigner
from tests.conftest import RunningServer
from tests.ops.ops_helpers import METRICS_AT, add_account, scrape, scrape_url, value
from tests.ratelimit.redis_proc import RedisProcess
from tests.security.conftest import build_envelope
from tests.security.live import PASSWORDS
from tests.soap_helpers import RawResponse, request, travel_times_body

Factory = Callable[..., RunningServer]
GET_TRAVEL_TIMES = travel_times_body("192")
LIST_HIGHWAYS = "<t:ListHighways/>"
NONCE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}Nonce"
REPLAYED = "wsse:InvalidSecurity"  # security/replay_guard.py: a nonce seen before
STATE_DOWN = "soap:Server.Unavailable"  # security/errors.py state_unavailable, HTTP 503


@pytest.fixture
def accounts_db(tmp_path: Path) -> Path:
    """A database with readers alice and bob (PasswordText) and reader dave (PasswordDigest)."""
    db = tmp_path / "accounts.db"
    add_account(db, "alice", "reader", PASSWORDS["alice"])
    add_account(db, "bob", "reader", PASSWORDS["bob"])
    add_account(db, "dave", "reader", PASSWORDS["dave"], digest=True)
    return db


def text_message(user: str, body: str = GET_TRAVEL_TIMES) -> bytes:
    """A request with a PasswordText UsernameToken (fresh Nonce and Created)."""
    return etree.tostring(build_envelope(UsernameTokenSigner(user, PASSWORDS[user]), body=body))


def text_message_without_nonce(user: str) -> bytes:
    """PasswordText with no Nonce: allowed on a loopback listener, never uses the replay cache."""
    root = build_envelope(UsernameTokenSigner(user, PASSWORDS[user]), body=GET_TRAVEL_TIMES)
    for nonce in root.iter(NONCE):
        nonce.getparent().remove(nonce)
    return etree.tostring(root)


def digest_message(user: str = "dave") -> bytes:
    """The exact bytes of one PasswordDigest request (Nonce, Created, B64(SHA1(...)))."""
    signer = UsernameTokenSigner(user, PASSWORDS[user], digest=True)
    return etree.tostring(build_envelope(signer, body=GET_TRAVEL_TIMES))


def outcome(response: RawResponse) -> tuple[int, str]:
    """(HTTP status, fault code or "" for a success)."""
    return response.status, response.fault()[0] if response.status != 200 else ""


def reader(server: RunningServer, user: str, *, digest: bool = False) -> HighwayClient:
    """The real client for one account, retries off so every refusal reaches the test."""
    return HighwayClient(url=server.url, timeout=10, retry=NO_RETRY, username=user,
                         password=PASSWORDS[user], digest=digest)


# 1. Per-principal burst ------------------------------------------------------------------


def test_per_principal_burst_with_real_accounts(server_factory: Factory,
                                                 accounts_db: Path) -> None:
    server = server_factory("--rate-limit", "reader:GetTravelTimes=5/minute", db=accounts_db)
    with reader(server, "alice") as alice:
        for expected_remaining in (4, 3, 2, 1, 0):
            assert alice.travel_times("192")
            quota = alice.last_rate_limit  # the principal's bucket: tighter than the IP's
            assert quota is not None and quota.limit == 5
            assert quota.remaining == expected_remaining
        with pytest.raises(RateLimitedError) as info:
            alice.travel_times("192")
        assert info.value.http_status == 429 and info.value.code == "Client.RateLimited"
        assert info.value.retry_after is not None and info.value.retry_after > 0

        raw = request(server.url, text_message("alice"))
        assert outcome(raw) == (429, "soap:Client.RateLimited")
        for name in ("retry-after", "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"):
            assert name in raw.headers, name
        assert int(raw.headers["retry-after"]) > 0
        assert raw.headers["retry-after"] == raw.fault_detail()["retryAfterSeconds"]
        assert (raw.headers["ratelimit-limit"], raw.headers["ratelimit-remaining"]) == ("5", "0")
        assert int(raw.headers["ratelimit-reset"]) > 0

        # The rule is per operation: alice's ListHighways falls under the `*` default instead.
        assert alice.list_highways()
        quota = alice.last_rate_limit
        assert quota is not None and quota.limit > 5
    with reader(server, "bob") as bob:  # another reader has a bucket of their own
        assert bob.travel_times("192")
        quota = bob.last_rate_limit
        assert quota is not None and (quota.limit, quota.remaining) == (5, 4)


def test_operator_role_rule_outranks_the_more_specific_default(server_factory: Factory,
                                                               accounts_db: Path) -> None:
    """README's example: `reader=40/minute` limits GetTravelTimes although the built-in default
    `reader:GetTravelTimes=600/minute` is more specific; an account rule still raises it."""
    server = server_factory("--rate-limit", "reader=40/minute",
                            "--rate-limit", "account:bob=unlimited", db=accounts_db)
    with reader(server, "alice") as alice:
        for _ in range(39):
            assert alice.travel_times("192")
        assert alice.list_highways()  # one bucket for every operation of the role-wide rule
        quota = alice.last_rate_limit
        assert quota is not None and (quota.limit, quota.remaining) == (40, 0)
        with pytest.raises(RateLimitedError):
            alice.travel_times("192")
    with reader(server, "bob") as bob:
        for _ in range(45):
            assert bob.travel_times("192")


def test_full_replay_cache_is_refused_logged_and_counted(server_factory: Factory,
                                                        accounts_db: Path) -> None:
    """`--replay-cache-entries 2`: the third fresh nonce in the window gets 503
    Server.Unavailable, one warning names the setting, the metric counts every refusal, and
    a replayed nonce is still refused as a replay (the cache never evicts a live entry)."""
    server = server_factory("--replay-cache-entries", "2", "--metrics-port", "0",
                            db=accounts_db)
    first = digest_message()
    assert outcome(request(server.url, first)) == (200, "")
    assert outcome(request(server.url, digest_message())) == (200, "")
    for _ in range(2):
        refused = request(server.url, digest_message())
        assert outcome(refused) == (503, STATE_DOWN) and "retry-after" in refused.headers
    assert outcome(request(server.url, first)) == (500, REPLAYED)
    assert server.log_text().count("replay cache full") == 1
    assert "--replay-cache-entries 2" in server.log_text()
    samples = scrape(server)
    assert value(samples, "highway_replay_cache_full_refusals_total") == 2
    assert value(samples, "highway_replay_cache_capacity") == 2
    assert value(samples, "highway_replay_cache_entries") == 2


# 2. Several processes sharing one Redis -----------------------------------------------------


def shared_flags(redis_url: str, *extra: str) -> tuple[str, ...]:
    """serve flags for a process that keeps its counters and replay cache in `redis_url`."""
    return ("--state-url", redis_url, *extra)


def test_replay_refused_by_another_server_sharing_redis(
    server_factory: Factory, accounts_db: Path, redis_url: str
) -> None:
    """Two single-process servers, one Redis and one database: the multi-machine case."""
    first = server_factory(*shared_flags(redis_url), db=accounts_db)
    second = server_factory(*shared_flags(redis_url), db=accounts_db)
    for origin, replay_target in ((first, second), (second, first)):
        message = digest_message()
        assert outcome(request(origin.url, message)) == (200, "")
        assert outcome(request(replay_target.url, message)) == (500, REPLAYED)
    assert redis.Redis.from_url(redis_url).keys("highway:replay:*"), "nonces are kept in Redis"


def test_one_principal_limit_across_servers_sharing_redis(
    server_factory: Factory, accounts_db: Path, redis_url: str
) -> None:
    flags = shared_flags(redis_url, "--rate-limit", "reader:GetTravelTimes=6/minute")
    servers = [server_factory(*flags, db=accounts_db) for _ in range(2)]
    clients = [reader(server, "alice") for server in servers]
    results: list[str] = []
    try:
        for index in range(12):
            try:
                clients[index % 2].travel_times("192")
                results.append("ok")
            except RateLimitedError:
                results.append("limited")
    finally:
        for client in clients:
            client.close()
    assert results == ["ok"] * 6 + ["limited"] * 6


@dataclasses.dataclass
class PinnedConnection:
    """A kept-alive HTTP connection, known to be served by one worker process."""

    conn: http.client.HTTPConnection
    metrics_url: str = ""  # the metrics endpoint of the worker that accepted it

    def __post_init__(self) -> None:
        self.conn.connect()
        self.sock = self.conn.sock

    def post(self, body: bytes) -> RawResponse:
        """POST on this very connection; fails if it was closed (a reconnect may change worker)."""
        assert self.conn.sock is self.sock, "connection closed, the worker is no longer known"
        self.conn.request("POST", "/soap", body=body,
                          headers={"Content-Type": "text/xml; charset=utf-8"})
        answer = self.conn.getresponse()
        raw = RawResponse(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                          answer.read())
        assert self.conn.sock is self.sock, "the server closed the connection"
        return raw


def worker_metrics_urls(server: RunningServer, workers: int) -> list[str]:
    """Each worker's metrics URL (`--metrics-port 0`: every worker logs its own)."""
    deadline = time.monotonic() + 30
    while len(urls := METRICS_AT.findall(server.log_text())) < workers:
        assert time.monotonic() < deadline, server.log_text()
        time.sleep(0.05)
    return urls


def list_highways_count(url: str) -> float:
    """ListHighways successes counted by one worker."""
    return value(scrape_url(url), "highway_requests_total", operation="ListHighways",
                 outcome="ok")


def connection_per_worker(server: RunningServer, urls: list[str]) -> Iterator[PinnedConnection]:
    """Open connections until each worker has accepted one; yields one per worker.

    Which worker accepts is the kernel's choice: a ListHighways on the new connection shows it,
    since observers count a request before its answer is sent."""
    pinned: dict[str, PinnedConnection] = {}
    counts = {url: list_highways_count(url) for url in urls}
    for _ in range(100):
        candidate = PinnedConnection(http.client.HTTPConnection("127.0.0.1", server.port,
                                                                timeout=10))
        assert candidate.post(text_message("alice", LIST_HIGHWAYS)).status == 200
        now = {url: list_highways_count(url) for url in urls}
        [served_by] = [url for url in urls if now[url] == counts[url] + 1]
        counts = now
        if served_by in pinned:
            candidate.conn.close()
            continue
        candidate.metrics_url = served_by
        pinned[served_by] = candidate
        if len(pinned) == len(urls):
            yield from pinned.values()
            return
    pytest.fail("100 connections were all accepted by the same worker")


def replays_seen(url: str) -> float:
    """Replays refused by one worker."""
    return value(scrape_url(url), "highway_replays_detected_total")


def test_replay_refused_by_the_other_worker(
    server_factory: Factory, accounts_db: Path, redis_url: str
) -> None:
    """--workers 2: a digest message accepted by one worker is refused by the other."""
    server = server_factory(*shared_flags(redis_url, "--workers", "2", "--metrics-port", "0"),
                            db=accounts_db)
    urls = worker_metrics_urls(server, 2)
    connections = list(connection_per_worker(server, urls))
    try:
        for origin, replay_target in (connections, connections[::-1]):
            before = {url: replays_seen(url) for url in urls}
            message = digest_message()
            assert outcome(origin.post(message)) == (200, "")
            assert outcome(replay_target.post(message)) == (500, REPLAYED)
            assert replays_seen(replay_target.metrics_url) == before[replay_target.metrics_url] + 1
            assert replays_seen(origin.metrics_url) == before[origin.metrics_url]
    finally:
        for pinned in connections:
            pinned.conn.close()
    assert server.stop() == 0


# 3. Redis killed under a live server ---------------------------------------------------------


def test_redis_outage_fails_replay_checks_closed_and_recovers(
    server_factory: Factory, accounts_db: Path, own_redis: RedisProcess
) -> None:
    server = server_factory(*shared_flags(own_redis.url, "--rate-limit",
                                          "reader:GetTravelTimes=3/minute"), db=accounts_db)
    no_nonce = text_message_without_nonce("alice")
    assert outcome(request(server.url, digest_message())) == (200, "")
    first = request(server.url, no_nonce)
    assert outcome(first) == (200, "") and first.headers["ratelimit-remaining"] == "2"

    own_redis.kill()
    with reader(server, "dave", digest=True) as dave:
        for _ in range(3):  # fresh nonces each time: refused, since no replay can be ruled out
            with pytest.raises(ServiceFaultError) as info:
                dave.travel_times("192")
            assert (info.value.http_status, info.value.code) == (503, "Server.Unavailable")
            assert isinstance(info.value, UnavailableError) and info.value.retry_after > 0
    refused = request(server.url, digest_message())
    assert outcome(refused) == (503, STATE_DOWN)
    assert refused.headers["retry-after"] == refused.fault_detail()["retryAfterSeconds"]

    # No Nonce, no replay check: still served, and still limited, now by this process alone
    # (a fresh per-process bucket of the same size).
    during = [request(server.url, no_nonce) for _ in range(4)]
    assert [outcome(r) for r in during] == [(200, "")] * 3 + [(429, "soap:Client.RateLimited")]
    assert [r.headers["ratelimit-remaining"] for r in during] == ["2", "1", "0", "0"]
    assert "(per-process)" in server.log_text()

    own_redis.start()  # same port
    refusals: list[tuple[int, str]] = []
    deadline = time.monotonic() + 30
    while True:
        message = digest_message()
        answer = outcome(request(server.url, message))
        if answer == (200, ""):
            break
        refusals.append(answer)
        assert time.monotonic() < deadline, f"digest logins never recovered: {refusals[-3:]}"
        time.sleep(0.1)
    assert set(refusals) <= {(503, STATE_DOWN)}
    assert outcome(request(server.url, message)) == (500, REPLAYED)  # replay cache is back
    assert redis.Redis.from_url(own_redis.url).keys("highway:replay:*")
