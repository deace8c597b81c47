"""SegmentWindows against a recomputation from scratch: increments of every size (one row at
a time and bursts merged at once), late rows, repeats and expiry of few or many rows."""

from __future__ import annotations

import datetime as dt
import random

from soap_service import traveltime
from soap_service.store.speed_window import SegmentWindows

SEGMENTS = ("a", "b", "c")


def _expected(rows: list[tuple[str, float, int, int]], since_ms: int) -> dict[str, object]:
    kept: dict[str, list[tuple[int, float]]] = {}
    for seg_id, speed, at_ms, _ in rows:
        if at_ms >= since_ms:
            kept.setdefault(seg_id, []).append((at_ms, speed))
    return {seg_id: (traveltime.median_of_sorted(sorted(s for _, s in items)),
                     dt.datetime.fromtimestamp(max(at for at, _ in items) / 1000.0, tz=dt.UTC))
            for seg_id, items in kept.items()}


def test_increments_of_every_size_equal_a_recomputation() -> None:
    rng = random.Random(42)
    for _ in range(20):
        windows = SegmentWindows(SEGMENTS, network_version=1)
        windows.load([], 0, since_ms=0)
        stored: list[tuple[str, float, int, int]] = []
        since, now, seq = 0, 100_000, 0
        for _ in range(30):
            seq += 1
            size = rng.choice([0, 1, 5, 31, 32, 33, 200, 1500])
            batch = [(rng.choice(SEGMENTS), float(rng.randint(0, 120)),
                      now - rng.randint(-5_000, 60_000), seq) for _ in range(size)]
            # A fetch may return rows of batches already included (reads overlap): skipped.
            again = stored[-rng.randint(0, 50):] if stored else []
            stored.extend(batch)
            windows.add(again + batch)
            now += rng.choice([0, 1_000, 30_000])
            if rng.random() < 0.5:
                since = max(since, now - rng.choice([10_000, 40_000, 90_000]))
                windows.expire(since)
            assert windows.summaries() == _expected(stored, since)
