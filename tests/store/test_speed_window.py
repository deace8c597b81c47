"""Incremental speed windows (store/speed_window.py) against the full computation, with a
writer and a reader that are different processes' stores on one database, concurrent batches
and concurrent reads, on both engines."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

from soap_service.domain import Observation
from soap_service.store.traffic_store import open_traffic_store
from tests.store.test_read_cost import START, oracle, run


def test_a_reader_process_sees_every_batch_of_a_writer_process(db_url: str) -> None:
    rng = random.Random(1203)
    now = [START.timestamp()]
    writer = open_traffic_store(db_url, clock=lambda: now[0])
    reader = open_traffic_store(db_url, clock=lambda: now[0])
    segments = list(writer._network.segments)[:8]
    sequence = 0

    def batch(n: int) -> list[Observation]:
        nonlocal sequence
        items = []
        for _ in range(n):
            sequence += 1
            at = writer.now() - dt.timedelta(seconds=rng.uniform(-200, 1500))
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            items.append(Observation(f"w{sequence}", rng.choice(segments), at,
                                     round(rng.uniform(0, 130), 2)))
        return items

    async def round_trip() -> None:
        # Several batches commit concurrently while the reader reads concurrently too.
        # Each highway read twice at once: overlapping updates of one window.
        reads = [reader.travel_times(hw.id) for hw in reader.highways() for _ in range(2)]
        writes = [writer.report(batch(rng.randint(1, 40))) for _ in range(rng.randint(1, 4))]
        await asyncio.gather(*writes, *reads)

    for _ in range(30):
        run(round_trip())
        now[0] += rng.uniform(0, 60)
        for hw in reader.highways():
            assert run(reader.travel_times(hw.id)) == run(oracle(reader, hw.id))
            for direction in hw.directions:  # another set of segments: its own window
                assert run(reader.travel_times(hw.id, direction)) == [
                    tt for tt in run(oracle(reader, hw.id)) if tt.direction == direction]
    run(writer.engine.close())
    run(reader.engine.close())
