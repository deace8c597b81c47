"""Issue 14: retention on both engines. A simulated week is written through the store API with
a one-day retention; after each day's retention pass the row count and the SQLite file size
stay flat, and duplicates inside the window are still found."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from soap_service.domain import Observation
from soap_service.store import database
from soap_service.store.traffic_store import InvalidObservation, open_traffic_store
from tests.conftest import start_server

T = TypeVar("T")
_LOOP = asyncio.new_event_loop()  # one loop for the module: an async pool belongs to its loop
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SENSORS = 100
STEP_S = 432  # each sensor reports every 432 s: 200 readings a day, 20,000 rows a day
PER_DAY = SENSORS * 86400 // STEP_S
SEGMENTS = ["192-EB-01", "192-EB-02", "217-NB-01", "225-SB-03"]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return _LOOP.run_until_complete(coro)


def sqlite_size(path: str) -> int:
    """The database file's size once the WAL is checkpointed into it."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(path)


def test_a_simulated_week_with_a_one_day_retention_stays_flat(db_url: str) -> None:
    now = [START.timestamp()]
    store = open_traffic_store(db_url, clock=lambda: now[0], retention=dt.timedelta(days=1))
    target = database.parse_db_url(db_url)
    if target.is_sqlite:
        conn = sqlite3.connect(target.location)
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental, new file
        conn.close()
    counts: list[int] = []
    sizes: list[int] = []
    steps_per_batch = 1000 // SENSORS
    step = 0
    last_batch: list[Observation] = []
    for _day in range(7):
        for _ in range(PER_DAY // 1000):
            batch = []
            for _ in range(steps_per_batch):
                at = START + dt.timedelta(seconds=step * STEP_S)
                batch += [Observation(f"s{n}", SEGMENTS[n % len(SEGMENTS)], at, 40.0 + n % 30)
                          for n in range(SENSORS)]
                step += 1
            now[0] = batch[-1].observed_at.timestamp() + 1
            result = run(store.report(batch))
            assert (result.accepted, result.duplicates) == (1000, 0)
            last_batch = batch
        run(store.expire_observations())  # what the retention task runs every minute
        counts.append(run(store.observation_count()))
        if target.is_sqlite:
            sizes.append(sqlite_size(target.location))
        else:  # table and indexes: reused after the retention pass's VACUUM
            row = run(store.engine.fetchone("SELECT pg_total_relation_size('observations')"))
            assert row is not None
            sizes.append(int(row[0]))
    # Exactly the last day is kept, every day after the first.
    assert counts[0] == PER_DAY
    assert all(count == PER_DAY for count in counts[1:]), counts
    if target.is_sqlite:
        assert max(sizes[2:]) <= sizes[1] * 1.2, sizes  # the file stays as large as one day
    else:  # MVCC: the space of deleted rows is reused from the next day on, never grows more
        assert max(sizes[3:]) <= sizes[2] * 1.05, sizes
    if target.is_sqlite:
        conn = sqlite3.connect(target.location)
        pages, free = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                       for p in ("page_count", "freelist_count"))
        conn.close()
        assert free <= pages * 0.05, (free, pages)  # freed pages went back to the OS
    # Duplicates inside the window are still found (the last batch, again) ...
    again = run(store.report(last_batch))
    assert (again.accepted, again.duplicates) == (0, len(last_batch))
    # ... and what retention deleted can no longer be accepted as new: the acceptance window
    # follows the one-day retention.
    old = Observation("s1", SEGMENTS[0], dt.datetime.fromtimestamp(now[0], dt.UTC)
                      - dt.timedelta(days=1, minutes=1), 40.0)
    with pytest.raises(InvalidObservation, match="older than 1 day"):
        run(store.report([old]))
    run(store.engine.close())


def test_no_retention_keeps_everything(db_url: str) -> None:
    now = [START.timestamp()]
    store = open_traffic_store(db_url, clock=lambda: now[0])
    batch = [Observation("s1", SEGMENTS[0], START - dt.timedelta(days=6), 40.0)]
    assert run(store.report(batch)).accepted == 1
    assert run(store.expire_observations()) == 0 and run(store.observation_count()) == 1
    run(store.engine.close())


def test_a_running_server_deletes_expired_observations(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    conn = database.connect(str(db))
    from soap_service.store import sample_network

    sample_network.load_if_empty(conn)
    old_ms = int((time.time() - 7200) * 1000)  # two hours ago; retention 1h
    with database.transaction(conn):
        conn.executemany(
            "INSERT INTO observations (sensor_id, observed_at_ms, segment_id, speed_kph,"
            " received_at_ms) VALUES (?, ?, ?, ?, ?)",
            [(f"s{n}", old_ms + n, "192-EB-01", 40.0, old_ms) for n in range(12000)]
            + [("fresh", int(time.time() * 1000), "192-EB-01", 40.0, old_ms)],
        )
    conn.close()
    server = start_server(tmp_path, "--no-require-auth", "--retention", "1h", db=db)
    try:
        deadline = time.monotonic() + 90  # a poll, generous for a loaded machine
        while True:
            with sqlite3.connect(db) as check:
                left = check.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
            if left == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert left == 1  # only the fresh one
        assert "retention: deleted 12000 observations" in server.log_text()
    finally:
        server.stop()


def test_a_retention_shorter_than_the_speed_window_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run([sys.executable, "-m", "soap_service", "serve", "--port", "0",
                           "--db", str(tmp_path / "w.db"), "--retention", "5m"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "shorter than the speed window" in done.stderr and "Traceback" not in done.stderr
