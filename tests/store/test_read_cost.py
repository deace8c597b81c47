"""Issue 14: a cache-missing GetTravelTimes no longer pulls every observation of the window into
Python. The database returns each segment's middle speeds only; for random ingests (duplicates,
late and out-of-order observations, retention deletes, a re-import retiring a segment) the
answers equal the old computation, kept here as the oracle, on both engines."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
from collections.abc import Coroutine
from typing import Any, TypeVar

from soap_service import traveltime
from soap_service.domain import DirectionTravelTime, Highway, Observation
from soap_service.store import database, network_db
from soap_service.store.traffic_store import TrafficStore, open_traffic_store

T = TypeVar("T")
_LOOP = asyncio.new_event_loop()  # one loop for the module: an async pool belongs to its loop
START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(coro)


async def oracle(store: TrafficStore, highway_id: str) -> list[DirectionTravelTime]:
    """The computation before issue 14: every row of the window into Python, then the median."""
    highway = store.highway(highway_id)
    now = store.now()
    since_ms = int(round((now - dt.timedelta(minutes=10)).timestamp() * 1000))
    seg_ids = [s.id for d in highway.directions for s in highway.segments[d]]
    rows = await store.engine.fetchall(
        f"SELECT segment_id, speed_kph, observed_at_ms FROM observations"
        f" WHERE segment_id IN ({','.join('?' * len(seg_ids))}) AND observed_at_ms >= ?",
        (*seg_ids, since_ms),
    )
    recent: dict[str, list[tuple[float, dt.datetime]]] = {}
    for seg_id, speed, at_ms in rows:
        recent.setdefault(seg_id, []).append(
            (float(speed), dt.datetime.fromtimestamp(int(at_ms) / 1000.0, tz=dt.UTC)))
    return [traveltime.direction_travel_time(highway_id, d, highway.segments[d], recent, now)
            for d in highway.directions]


def retire_one_segment(db_url: str, store: TrafficStore) -> str:
    """Import the served network minus the last segment of its longest direction."""
    highways = store.highways()
    victim_hw, victim_dir = max(
        ((hw, d) for hw in highways for d in hw.directions),
        key=lambda pair: len(pair[0].segments[pair[1]]))
    victim = victim_hw.segments[victim_dir][-1]
    changed: list[Highway] = []
    for hw in highways:
        if hw.id == victim_hw.id:
            segs = dict(hw.segments)
            segs[victim_dir] = segs[victim_dir][:-1]
            hw = dataclasses.replace(hw, segments=segs)
        changed.append(hw)
    conn = database.connect(db_url)
    try:
        network_db.import_network(conn, changed)
    finally:
        conn.close()
    assert run(store.reload_network())
    return victim.id


def test_the_database_median_equals_the_old_computation(db_url: str) -> None:
    rng = random.Random(14)
    now = [START.timestamp()]
    store = open_traffic_store(db_url, clock=lambda: now[0], retention=dt.timedelta(hours=1))
    segments = list(store._network.segments)
    sent: list[Observation] = []
    checked = 0
    for round_no in range(40):
        batch: list[Observation] = []
        for _ in range(rng.randint(1, 60)):
            if sent and rng.random() < 0.15:
                batch.append(rng.choice(sent))  # a resend: a duplicate
                continue
            # Late and out of order: anything from 55 minutes ago to 4 minutes ahead.
            at = store.now() - dt.timedelta(seconds=rng.uniform(-240, 3300))
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            speed = rng.choice([rng.uniform(0, 140), float(rng.randint(0, 130)), 55.5, 0.0])
            batch.append(Observation(f"s{rng.randint(1, 40)}", rng.choice(segments[:12]),
                                     at, speed))
        oldest = store.now() - store.max_age
        live = [o for o in batch
                if o.segment_id in store._network.segments and o.observed_at > oldest]
        if live:
            run(store.report(live))
            sent.extend(live)
        now[0] += rng.uniform(0, 90)  # observations age out of the 10-minute window
        if round_no % 10 == 5:
            assert run(store.expire_observations(chunk=50)) >= 0
        if round_no == 20:
            retired = retire_one_segment(db_url, store)
            assert retired not in store._network.segments
        for hw in store.highways():
            assert run(store.travel_times(hw.id)) == run(oracle(store, hw.id))
            checked += 1
    assert checked >= 40 * 3
    # Both parities of the window count and both empty and busy segments were exercised.
    summaries = run(store.window_summaries(segments, 0))
    assert len(summaries) > 1


def test_even_odd_and_tied_windows(db_url: str) -> None:
    store = open_traffic_store(db_url, clock=START.timestamp)
    segs = [s.id for d in store.highway("192").directions
            for s in store.highway("192").segments[d]]
    at = START - dt.timedelta(minutes=1)
    cases = ([50.0], [50.0, 0.1], [7.0, 7.0, 7.0, 1.0], [0.1, 0.2, 0.30000000000000004, 99.9])
    for seg, speeds in zip(segs, cases, strict=False):  # one segment per case: 1, 2, 4, 4 rows
        run(store.report([Observation(f"{seg}-{i}", seg, at - dt.timedelta(seconds=i), v)
                          for i, v in enumerate(speeds)]))
    assert run(store.travel_times("192")) == run(oracle(store, "192"))
    summaries = run(store.window_summaries(segs, 0))
    assert summaries[segs[1]] == (25.05, at) and summaries[segs[2]][0] == 7.0
    assert summaries[segs[3]][0] == (0.2 + 0.30000000000000004) / 2
