"""The store on both engines (SQLite and a real PostgreSQL): migrations, sample network,
atomic idempotent batches, fleet-wide visibility, accounts, and bounded failures."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from soap_service.domain import Direction, Observation
from soap_service.security.account_directory import AccountDirectory
from soap_service.security.accounts import AccountStore
from soap_service.store import database, sample_network
from soap_service.store.errors import StoreUnavailable
from soap_service.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS
from soap_service.store.traffic_store import (
    InvalidObservation,
    TrafficStore,
    UnknownDirection,
    UnknownHighway,
    open_traffic_store,
)
from tests.store.pg_proc import PostgresProcess, pg_bindir

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
T = TypeVar("T")


# One event loop for the module, as a server has one: an async pool belongs to its loop.
_LOOP = asyncio.new_event_loop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(coro)


@pytest.fixture
def store(db_url: str) -> TrafficStore:
    return open_traffic_store(db_url, clock=NOW.timestamp)


def obs(sensor: str, segment: str, minutes_ago: float, speed: float) -> Observation:
    return Observation(sensor, segment, NOW - dt.timedelta(minutes=minutes_ago), speed)


def test_db_urls_choose_the_engine() -> None:
    assert database.parse_db_url("./highway.db") == database.DbTarget("sqlite", "./highway.db")
    assert database.parse_db_url("sqlite:///rel.db").location == "rel.db"
    assert database.parse_db_url("sqlite:////abs/h.db").location == "/abs/h.db"
    assert database.parse_db_url("postgresql://u@h:5432/d").engine == "postgresql"
    with pytest.raises(ValueError):
        database.parse_db_url("mysql://u@h/d")
    shown = database.parse_db_url("postgresql://u:secret@h:5432/d").display()
    assert "secret" not in shown and "h" in shown


def test_migrations_are_recorded_once(db_url: str) -> None:
    conn = database.connect(db_url)
    expected = POSTGRES_MIGRATIONS if database.engine_of(conn) == "postgresql" else MIGRATIONS
    assert database.current_version(conn) == expected[-1][0]
    assert database.pending(conn) == []
    again = database.connect(db_url)
    rows = again.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
    assert rows == len(expected)
    assert [n for n, _, _ in MIGRATIONS] == [n for n, _, _ in POSTGRES_MIGRATIONS]


def test_sqlite_uses_wal(tmp_path: Any) -> None:
    conn = database.connect(str(tmp_path / "t.db"))
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sample_network_has_the_promised_highways(store: TrafficStore) -> None:
    ids = [h.id for h in store.highways()]
    assert {"192", "217", "225"} <= set(ids)
    for highway in store.highways():
        assert len(highway.directions) == 2
        for segments in highway.segments.values():
            assert len(segments) >= 5
            for before, after in zip(segments, segments[1:], strict=False):
                assert before.to_name == after.from_name


def test_sample_network_loads_only_once(db_url: str) -> None:
    conn = database.connect(db_url)
    assert sample_network.load_if_empty(conn) is True
    assert sample_network.load_if_empty(conn) is False


def test_unknown_highway_and_direction(store: TrafficStore) -> None:
    with pytest.raises(UnknownHighway):
        run(store.travel_times("9999"))
    with pytest.raises(UnknownDirection):
        run(store.travel_times("192", Direction.NB))


def test_report_is_idempotent_on_sensor_and_time(store: TrafficStore) -> None:
    batch = [obs("s1", "192-EB-01", 1, 30), obs("s2", "192-EB-01", 1, 50)]
    assert run(store.report(batch)).accepted == 2
    again = run(store.report(batch + [obs("s3", "192-EB-01", 2, 40)]))
    assert (again.accepted, again.duplicates) == (1, 2)
    inside = run(store.report([obs("s4", "192-EB-01", 3, 40), obs("s4", "192-EB-01", 3, 41)]))
    assert (inside.accepted, inside.duplicates) == (1, 1)
    assert run(store.observation_count()) == 4


def test_a_bad_item_refuses_the_whole_batch(store: TrafficStore) -> None:
    batch = [obs("s1", "192-EB-01", 1, 30), obs("s2", "no-such-segment", 1, 50)]
    with pytest.raises(InvalidObservation) as info:
        run(store.report(batch))
    assert info.value.index == 2
    assert info.value.kind == "unknown-segment"
    assert run(store.observation_count()) == 0


@pytest.mark.parametrize("minutes_ago", [-6, 60 * 24 * 8])
def test_out_of_range_times_are_refused(store: TrafficStore, minutes_ago: float) -> None:
    with pytest.raises(InvalidObservation) as info:
        run(store.report([obs("s1", "192-EB-01", minutes_ago, 30)]))
    assert info.value.kind == "out-of-range"


def test_travel_time_uses_only_the_window(store: TrafficStore) -> None:
    run(store.report([obs("old", "192-EB-01", 11, 5), obs("new", "192-EB-01", 1, 36)]))
    (eb,) = run(store.travel_times("192", Direction.EB))
    first = eb.segments[0]
    assert first.speed_kph == 36
    assert first.stale is False
    assert all(s.stale for s in eb.segments[1:])


def test_a_batch_acknowledged_by_one_store_is_seen_and_deduplicated_by_another(
    db_url: str,
) -> None:
    """Two stores on one database stand for two processes or two machines."""
    a = open_traffic_store(db_url, clock=NOW.timestamp)
    b = open_traffic_store(db_url, clock=NOW.timestamp)
    batch = [obs(f"s{i}", "192-EB-01", 1, 11.0) for i in range(20)]

    async def scenario() -> None:
        version = await b.answer_version()
        assert (await a.report(batch)).accepted == 20
        assert await b.answer_version() != version  # b's response cache must drop its answers
        (eb,) = await b.travel_times("192", Direction.EB)
        assert eb.segments[0].speed_kph == 11.0
        again = await b.report(batch)
        assert (again.accepted, again.duplicates) == (0, 20)

    run(scenario())


def test_versions_are_fresh_after_another_store_commits(db_url: str) -> None:
    """A version read again with nothing committed since needs no round trip where the engine
    can tell (SQLite's wal-index header); after another store (another process, another
    machine: tests/compat/test_sqlite_wal.py commits from a second process) commits, the
    next read returns the new version, on both engines."""
    store = open_traffic_store(db_url, clock=NOW.timestamp)
    elsewhere = open_traffic_store(db_url, clock=NOW.timestamp)
    fetches = store._highway_version  # noqa: SLF001 - counting round trips is the point

    async def scenario() -> None:
        await store.highway_data_version("192")  # the first read maps SQLite's header
        first = await store.highway_data_version("192")
        other = await store.highway_data_version("217")
        made = fetches.fetches
        for _ in range(5):  # nothing committed: the same versions
            assert await store.highway_data_version("192") == first
            assert await store.highway_data_version("217") == other
        can_tell = store.engine.change_token() is not None
        assert can_tell == (store.engine.kind == "sqlite")
        assert fetches.fetches == (made if can_tell else made + 10)
        for round_no in range(3):
            batch = [obs(f"elsewhere-{round_no}", "192-EB-01", 1, 30.0)]
            assert (await elsewhere.report(batch)).accepted == 1
            now = await store.highway_data_version("192")
            assert now > first  # the other store's batch, seen at once
            assert await store.highway_data_version("217") == other  # not its highway
            assert await store.data_version() == await elsewhere.data_version()
            first = now
        await elsewhere.engine.close()
        await store.engine.close()
        assert store.engine.change_token() is None

    run(scenario())


def test_accounts_changed_anywhere_are_seen_without_restart(db_url: str) -> None:
    serving = open_traffic_store(db_url)
    directory = AccountDirectory(serving.engine, ttl_seconds=0)
    admin = AccountStore(database.connect(db_url))  # `users add` on another machine
    assert run(directory.get("carol")) is None
    admin.add("carol", "reader", password="correct horse", cert_subject="CN=carol,O=X")
    found = run(directory.get("carol"))
    assert found is not None and found.role == "reader" and found.password_hash
    assert run(directory.by_cert_subject("CN=carol,O=X")) == found
    admin.remove("carol")
    assert run(directory.get("carol")) is None


def test_the_account_cache_lives_for_its_ttl_only(db_url: str) -> None:
    serving = open_traffic_store(db_url)
    now = [100.0]
    directory = AccountDirectory(serving.engine, ttl_seconds=1.0, clock=lambda: now[0])
    admin = AccountStore(database.connect(db_url))
    assert run(directory.get("erin")) is None
    admin.add("erin", "admin", password="correct horse")
    assert run(directory.get("erin")) is None  # cached "unknown" within the TTL
    now[0] += 1.01
    account = run(directory.get("erin"))
    assert account is not None and account.role == "admin"


_HOLD_SQLITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE data_version SET version = version WHERE id = 1")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""

_HOLD_PG_LOCK = """
import sys, time, psycopg
conn = psycopg.connect(sys.argv[1])
conn.execute("SELECT version FROM data_version WHERE id = 1 FOR UPDATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.rollback()
"""


def test_a_write_lock_held_elsewhere_ends_in_unavailable_within_the_bound(db_url: str) -> None:
    target = database.parse_db_url(db_url)
    store = open_traffic_store(db_url, clock=NOW.timestamp, timeout_s=1.0)
    script = _HOLD_SQLITE_LOCK if target.is_sqlite else _HOLD_PG_LOCK
    holder = subprocess.Popen([sys.executable, "-c", script, target.location, "6"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            run(store.report([obs("s1", "192-EB-01", 1, 30)]))
        waited = time.monotonic() - started
        assert info.value.write and info.value.reason in ("database locked", "database timeout")
        assert waited < 4.0  # bounded by timeout_s (1 s) plus slack, far below the 6 s lock
        # Reads are not blocked by the writer's lock.
        assert run(store.observation_count()) == 0
        assert store.engine.health.probe() is not None
    finally:
        holder.kill()
        holder.wait()
    assert run(store.report([obs("s1", "192-EB-01", 1, 30)])).accepted == 1
    assert store.engine.health.probe() is None


@pytest.mark.skipif(pg_bindir() is None, reason="PostgreSQL is not installed")
def test_postgresql_down_is_unavailable_then_recovers_by_itself() -> None:
    server = PostgresProcess(pg_bindir() or "")
    server.start()
    try:
        url = server.create_database("outage")
        store = open_traffic_store(url, clock=NOW.timestamp, timeout_s=1.0)

        async def scenario() -> None:
            assert (await store.report([obs("s1", "192-EB-01", 1, 30)])).accepted == 1
            server.stop("immediate")
            for call in (store.observation_count(), store.report([obs("s2", "192-EB-01", 1, 3)])):
                started = time.monotonic()
                with pytest.raises(StoreUnavailable):
                    await call
                assert time.monotonic() - started < 3.0
            assert store.engine.health.probe() is not None
            server.start()
            deadline = time.monotonic() + 20
            while True:
                try:
                    result = await store.report([obs("s2", "192-EB-01", 1, 3)])
                    break
                except StoreUnavailable:
                    assert time.monotonic() < deadline, "no recovery"
                    await asyncio.sleep(0.2)
            assert result.accepted == 1
            assert await store.observation_count() == 2  # nothing acknowledged was lost
            assert store.engine.health.probe() is None
            await store.engine.close()

        run(scenario())
    finally:
        server.cleanup()
