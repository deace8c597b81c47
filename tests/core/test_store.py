"""Unit tests of the SQLite store: migrations, sample network, atomic idempotent batches."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from soap_service.domain import Direction, Observation
from soap_service.store import database, sample_network
from soap_service.store.migrations import MIGRATIONS
from soap_service.store.traffic_store import (
    InvalidObservation,
    TrafficStore,
    UnknownDirection,
    UnknownHighway,
)

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path: Path) -> TrafficStore:
    conn = database.connect(str(tmp_path / "t.db"))
    sample_network.load_if_empty(conn)
    return TrafficStore(conn, clock=NOW.timestamp)


def obs(sensor: str, segment: str, minutes_ago: float, speed: float) -> Observation:
    return Observation(sensor, segment, NOW - dt.timedelta(minutes=minutes_ago), speed)


def test_database_uses_wal_and_records_migrations(tmp_path: Path) -> None:
    conn = database.connect(str(tmp_path / "t.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert database.current_version(conn) == MIGRATIONS[-1][0]
    # Re-opening applies nothing twice.
    again = database.connect(str(tmp_path / "t.db"))
    rows = again.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(MIGRATIONS)


def test_sample_network_has_the_promised_highways(store: TrafficStore) -> None:
    ids = [h.id for h in store.highways()]
    assert {"192", "217", "225"} <= set(ids)
    for highway in store.highways():
        assert len(highway.directions) == 2
        for segments in highway.segments.values():
            assert len(segments) >= 5
            # Consecutive segments join up: each starts where the previous one ended.
            for before, after in zip(segments, segments[1:], strict=False):
                assert before.to_name == after.from_name


def test_sample_network_loads_only_once(tmp_path: Path) -> None:
    conn = database.connect(str(tmp_path / "t.db"))
    assert sample_network.load_if_empty(conn) is True
    assert sample_network.load_if_empty(conn) is False


def test_unknown_highway_and_direction(store: TrafficStore) -> None:
    with pytest.raises(UnknownHighway):
        store.travel_times("9999")
    with pytest.raises(UnknownDirection):
        store.travel_times("192", Direction.NB)


def test_report_is_idempotent_on_sensor_and_time(store: TrafficStore) -> None:
    batch = [obs("s1", "192-EB-01", 1, 30), obs("s2", "192-EB-01", 1, 50)]
    assert store.report(batch).accepted == 2
    again = store.report(batch + [obs("s3", "192-EB-01", 2, 40)])
    assert (again.accepted, again.duplicates) == (1, 2)
    assert store.observation_count() == 3


def test_a_bad_item_refuses_the_whole_batch(store: TrafficStore) -> None:
    batch = [obs("s1", "192-EB-01", 1, 30), obs("s2", "no-such-segment", 1, 50)]
    with pytest.raises(InvalidObservation) as info:
        store.report(batch)
    assert info.value.index == 2
    assert info.value.kind == "unknown-segment"
    assert store.observation_count() == 0


@pytest.mark.parametrize("minutes_ago", [-6, 60 * 24 * 8])
def test_out_of_range_times_are_refused(store: TrafficStore, minutes_ago: float) -> None:
    with pytest.raises(InvalidObservation) as info:
        store.report([obs("s1", "192-EB-01", minutes_ago, 30)])
    assert info.value.kind == "out-of-range"


def test_travel_time_uses_only_the_window(store: TrafficStore) -> None:
    store.report([obs("old", "192-EB-01", 11, 5), obs("new", "192-EB-01", 1, 36)])
    (eb,) = store.travel_times("192", Direction.EB)
    first = eb.segments[0]
    assert first.speed_kph == 36
    assert first.stale is False
    assert all(s.stale for s in eb.segments[1:])


def test_acknowledged_batch_is_on_disk_for_another_connection(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    conn = database.connect(path)
    sample_network.load_if_empty(conn)
    TrafficStore(conn, clock=NOW.timestamp).report([obs("s1", "192-EB-01", 1, 30)])
    other = sqlite3.connect(path)
    assert other.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 1
