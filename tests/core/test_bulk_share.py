"""BulkShare: large requests take at most their share of the thread while small ones wait,
run at full speed alone, and small requests are never held; the pipeline's counts stay right
whatever way a request ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from soap_service.core.bulk_share import BulkShare
from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.core.pipeline import Pipeline
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application
from soap_service.store.traffic_store import open_traffic_store
from tests.soap_helpers import envelope, travel_times_body


class FakeTime:
    """A clock the test moves, and a sleep that records and advances it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _exchange(size: int) -> Exchange:
    return Exchange(correlation_id="c", method="POST", path="/soap", headers={},
                    body=b"x" * size, transport=TransportInfo("127.0.0.1"))


def _paced(share: float) -> tuple[BulkShare, FakeTime]:
    fake = FakeTime()
    return BulkShare(share, large_bytes=1000, now=fake.clock, sleep=fake.sleep), fake


@pytest.mark.parametrize("share", [0.1, 0.3, 0.5, 0.9])
def test_a_large_step_waits_so_it_uses_its_share_while_small_requests_wait(
        share: float) -> None:
    bulk, fake = _paced(share)
    small, large = _exchange(10), _exchange(5000)
    bulk.begin(small)
    bulk.begin(large)
    started = bulk.mark()
    fake.now += 0.004  # a 4 ms step (parse, say)
    asyncio.run(bulk.after_step(large, started))
    (waited,) = fake.slept
    assert 0.004 / (0.004 + waited) == pytest.approx(share)
    assert bulk.held_seconds == pytest.approx(waited)


def test_alone_a_large_request_only_passes_its_turn() -> None:
    bulk, fake = _paced(0.3)
    large = _exchange(5000)
    bulk.begin(large)
    started = bulk.mark()
    fake.now += 0.004
    asyncio.run(bulk.after_step(large, started))
    assert fake.slept == [0]
    # Once the small requests are done, large ones run unpaced again.
    small = _exchange(10)
    bulk.begin(small)
    bulk.end(small)
    asyncio.run(bulk.after_step(large, bulk.mark()))
    assert fake.slept == [0, 0] and bulk.small_in_flight == 0


def test_small_requests_are_never_held_and_share_one_turns_pacing_off() -> None:
    bulk, fake = _paced(0.3)
    small, other = _exchange(999), _exchange(10)
    bulk.begin(small)
    bulk.begin(other)
    fake.now += 1.0
    asyncio.run(bulk.after_step(small, 100.0))
    assert fake.slept == []
    off, fake_off = _paced(1.0)
    large = _exchange(5000)
    off.begin(small)
    off.begin(large)
    fake_off.now += 0.01
    asyncio.run(off.after_step(large, 100.0))
    assert fake_off.slept == [0]


def test_shares_outside_zero_to_one_are_refused() -> None:
    for share in (0, -0.1, 1.01):
        with pytest.raises(ValueError):
            BulkShare(share)


def test_the_pipeline_counts_every_small_request_out_however_it_ends(tmp_path: Path) -> None:
    store = open_traffic_store(str(tmp_path / "b.db"))
    bulk = BulkShare(0.3)
    pipeline = Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                        runner=SpyneRunner(build_application(store), load=OperationLoader(store)),
                        before_operation=[], bulk=bulk)
    bodies = [envelope(travel_times_body("192", "EB")), b"<not-xml", envelope("<x/>"), b""]

    async def main() -> list[int]:
        replies = await asyncio.gather(*(pipeline.handle(Exchange(
            correlation_id="c", method="POST", path="/soap",
            headers={"content-type": "text/xml; charset=utf-8"}, body=body,
            transport=TransportInfo("127.0.0.1"))) for body in bodies))
        return [reply.status for reply in replies]

    statuses = asyncio.run(main())
    assert statuses[0] == 200 and all(status >= 400 for status in statuses[1:])
    assert bulk.small_in_flight == 0


def test_a_slow_step_is_held_at_most_the_cap() -> None:
    from soap_service.core.bulk_share import MAX_WAIT_SECONDS

    bulk, fake = _paced(0.3)
    small, large = _exchange(10), _exchange(5000)
    bulk.begin(small)
    started = bulk.mark()
    fake.now += 3.0  # e.g. a store step that waited for a lock
    asyncio.run(bulk.after_step(large, started))
    assert fake.slept == [MAX_WAIT_SECONDS]
