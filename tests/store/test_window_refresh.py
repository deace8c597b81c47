"""TrafficStore.refresh_windows keeps the windows in use current with another process's
batches (exactly: the answer equals the full computation), and leaves idle ones alone."""

from __future__ import annotations

import datetime as dt

from soap_service.domain import Observation
from soap_service.store.traffic_store import open_traffic_store
from tests.store.test_read_cost import START, oracle, run


def test_refresh_follows_a_writer_and_skips_idle_windows(db_url: str) -> None:
    now = [START.timestamp()]
    writer = open_traffic_store(db_url, clock=lambda: now[0])
    reader = open_traffic_store(db_url, clock=lambda: now[0])
    run(reader.travel_times("192"))  # loads 192's window: in use
    run(reader.travel_times("217"))
    idle = next(w for k, w in reader._windows.items() if k[0].startswith("217"))  # noqa: SLF001
    idle.last_read -= 3600  # not read for an hour
    assert run(reader.refresh_windows()) == 0  # nothing stored since

    def batch(prefix: str, count: int) -> list[Observation]:
        at = writer.now() - dt.timedelta(seconds=30)
        return [Observation(f"{prefix}{i}", seg, at - dt.timedelta(seconds=i), 20.0 + i)
                for i, seg in enumerate(["192-EB-01", "192-EB-02", "217-NB-01"] * count)]

    run(writer.report(batch("a", 50)))
    run(writer.report(batch("b", 10)))
    assert run(reader.refresh_windows()) == 1  # 192's window; 217's is idle
    busy = next(w for k, w in reader._windows.items() if k[0].startswith("192"))  # noqa: SLF001
    assert busy.seen == run(reader.data_version())
    assert idle.seen is not None and idle.seen < busy.seen
    # The refreshed window gives the full computation's answer; the idle one catches up on
    # its next read as before.
    assert run(reader.travel_times("192")) == run(oracle(reader, "192"))
    assert run(reader.travel_times("217")) == run(oracle(reader, "217"))
