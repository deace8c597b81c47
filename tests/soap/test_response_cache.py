"""The response cache (soap/response_cache.py): reused answers change exactly when the data
does, and never let a request skip validation or authentication."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench import workload
from soap_service.domain import Observation
from soap_service.soap.response_cache import ResponseCache
from soap_service.store.traffic_store import open_traffic_store
from tests.conftest import ROOT, RunningServer
from tests.soap_helpers import envelope, request, travel_times_body


def _version_of(box: list[int]) -> Callable[[], Awaitable[int]]:
    async def version() -> int:
        return box[0]

    return version


def test_entries_live_for_one_version() -> None:
    version = [1]
    cache = ResponseCache(_version_of(version))
    key = ("GetTravelTimes", ("217", "NB"))

    async def scenario() -> None:
        assert await cache.get(key) is None
        cache.put(key, b"answer")
        assert await cache.get(key) == b"answer"
        assert await cache.get(("GetTravelTimes", ("217", "SB"))) is None
        version[0] = 2
        assert await cache.get(key) is None

    asyncio.run(scenario())
    assert (cache.hits, cache.misses) == (1, 3)


def test_an_answer_built_across_a_version_change_is_not_kept() -> None:
    version = [1]
    cache = ResponseCache(_version_of(version))
    key = ("GetTravelTimes", ("217", "NB"))

    async def scenario() -> None:
        _, seen = await cache.lookup(key)  # this request then awaits its query ...
        version[0] = 2
        assert await cache.get(("ListHighways", ())) is None  # ... another sees version 2
        cache.put(key, b"built from version 1 data", seen)
        assert await cache.get(key) is None

    asyncio.run(scenario())


def test_cache_is_bounded() -> None:
    cache = ResponseCache(_version_of([0]), max_entries=2)

    async def scenario() -> None:
        for name in ("a", "b", "c"):
            await cache.get(("ListHighways", (name,)))
            cache.put(("ListHighways", (name,)), name.encode())
        assert await cache.get(("ListHighways", ("c",))) == b"c"
        assert await cache.get(("ListHighways", ("a",))) is None

    asyncio.run(scenario())


def test_answer_version_sees_commits_of_any_store_and_the_second(tmp_path: Path) -> None:
    now = [1_800_000_000.25]
    mine = open_traffic_store(str(tmp_path / "t.db"), clock=lambda: now[0])
    other = open_traffic_store(str(tmp_path / "t.db"), clock=lambda: now[0])  # another process

    async def scenario() -> None:
        start = await mine.answer_version()
        assert await mine.answer_version() == start
        at = dt.datetime.fromtimestamp(now[0], tz=dt.UTC)
        await mine.report([Observation("s1", "217-NB-01", at, 50.0)])
        after_own = await mine.answer_version()
        assert after_own != start
        await other.report([Observation("s2", "217-NB-02", at, 50.0)])
        after_other = await mine.answer_version()
        assert after_other != after_own
        now[0] += 0.5
        assert await mine.answer_version() == after_other  # same second: same asOf
        now[0] += 0.5
        assert await mine.answer_version() != after_other  # next second: asOf moves on

    asyncio.run(scenario())


def test_report_invalidates_a_cached_answer(open_server: RunningServer) -> None:
    ask = envelope(travel_times_body("217", "NB"))
    before = request(open_server.url, ask)
    assert before.status == 200 and b"<tns:stale>true</tns:stale>" in before.body
    assert request(open_server.url, ask).body == before.body  # served again (same second)
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = envelope(
        "<t:ReportObservations><t:observation><t:sensorId>cache-test</t:sensorId>"
        f"<t:segmentId>217-NB-01</t:segmentId><t:observedAt>{at}</t:observedAt>"
        "<t:speedKph>12.5</t:speedKph></t:observation></t:ReportObservations>")
    assert request(open_server.url, report).status == 200
    after = request(open_server.url, ask)
    assert after.status == 200
    assert b"<tns:speedKph>12.5</tns:speedKph>" in after.body


def test_cached_answers_still_need_valid_authenticated_requests(
    server_factory: Callable[..., RunningServer], tmp_path: Path
) -> None:
    db = tmp_path / "auth.db"
    subprocess.run([sys.executable, "-m", "soap_service", "users", "add", workload.USERNAME,
                    "--role", "reader", "--digest", "--db", str(db), "--create"],
                   input=workload.PASSWORD + "\n", text=True, check=True, cwd=ROOT,
                   capture_output=True)
    server = server_factory(db=db)
    good = request(server.url, workload.digest_request())
    assert good.status == 200 and b"GetTravelTimesResponse" in good.body
    assert request(server.url, workload.digest_request()).body == good.body  # a cache hit
    anonymous = request(server.url, workload.plain_request())
    assert anonymous.status != 200 and b"GetTravelTimesResponse" not in anonymous.body
    replayed = workload.digest_request()
    assert request(server.url, replayed).status == 200
    assert request(server.url, replayed).status != 200  # the nonce is refused the second time
    invalid = workload.digest_request().replace(b">217<", b">no-such<")
    refused = request(server.url, invalid)
    assert refused.status == 500 and b"Client.Schema" in refused.body
