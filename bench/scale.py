"""Issue 14's scale benchmark (`python -m bench.run --scale`): a 1,000-highway network, a
simulated week of observations with a one-day retention, on SQLite and PostgreSQL.

Per engine it measures, and prints as a table with the issue's growth ratios:
- ingest observations/s through the store (1,000-item batches, the path ReportObservations
  takes after parsing), over the whole simulated week, retention passes included;
- the database size after 1 and after 7 simulated days (target: 7 days <= 1.2 x 1 day);
- a cache-missing GetTravelTimes (the store read, no response cache) p50/p99 on a highway with
  1 and with 3,000 observations per segment in the speed window (target: <= 1.5x);
- ListHighways and GET / p50 over HTTP against a server on that database, and GET / on the
  3-highway sample network (target: 1,000 vs 3 highways <= 2x).

Full run: 10^7 observations (`--scale-observations`), ~1.4 million a simulated day; --smoke
uses 20,000 and 300 instead of 3,000 per segment. Figures, not tests: nothing here asserts speed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import http.client
import os
import sqlite3
import statistics
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import servers
from bench.ingest import SERVER_FLAGS, NotAvailable, _postgres
from soap_service.domain import Direction, Highway, Observation, Segment
from soap_service.store import database, network_db
from soap_service.store.traffic_store import TrafficStore, open_traffic_store

HIGHWAYS = 1000
SEGMENTS_PER_DIRECTION = 5
FULL_OBSERVATIONS = 10_000_000
SMOKE_OBSERVATIONS = 20_000
DAYS = 7
RETENTION = dt.timedelta(days=1)
SENSORS = 10_000
START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
TARGET_READ_GROWTH, TARGET_PAGE_GROWTH, TARGET_SIZE_GROWTH = 1.5, 2.0, 1.2
LIST_BODY = "<t:ListHighways/>"
SOAP = ('<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:t="urn:highway-traffic:v1"><s:Body>{}</s:Body></s:Envelope>')


def network(highways: int = HIGHWAYS) -> list[Highway]:
    """Highways 1..N, EB and WB, SEGMENTS_PER_DIRECTION segments each."""
    out = []
    for hid in range(1, highways + 1):
        dirs = {}
        for direction in (Direction("EB"), Direction("WB")):
            dirs[direction] = tuple(
                Segment(f"{hid}-{direction.value}-{n}", str(hid), direction, n, f"Exit {n}",
                        f"Exit {n + 1}", 1.5, 100.0)
                for n in range(1, SEGMENTS_PER_DIRECTION + 1))
        out.append(Highway(str(hid), f"Route {hid}", dirs))
    return out


def _percentiles(samples: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds of samples in seconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]
    return statistics.median(ordered) * 1000, p99 * 1000


def _size(url: str, store: TrafficStore, loop: asyncio.AbstractEventLoop) -> int:
    """Bytes the database takes: the SQLite file after a checkpoint, or pg_database_size."""
    target = database.parse_db_url(url)
    if target.is_sqlite:
        conn = sqlite3.connect(target.location)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return os.path.getsize(target.location)
    row = loop.run_until_complete(
        store.engine.fetchone("SELECT pg_database_size(current_database())"))
    return int(row[0]) if row else 0


def simulate_week(
    url: str, observations: int, *, progress: Callable[[str], None],
    loop: asyncio.AbstractEventLoop,
) -> tuple[TrafficStore, dict[str, Any], list[float]]:
    """Ingest `observations` spread over DAYS simulated days with a one-day retention."""
    conn = database.connect(url)
    try:
        network_db.import_network(conn, network())
    finally:
        conn.close()
    now = [START.timestamp()]
    store = open_traffic_store(url, load_sample_data=False, clock=lambda: now[0],
                               retention=RETENTION)
    segments = list(store._network.segments)
    batches = max(DAYS, observations // 1000)
    step = DAYS * 86400 / batches
    next_expiry = now[0] + 3600
    spent = 0.0
    sizes: list[float] = []
    day_end = START.timestamp() + 86400
    for number in range(batches):
        at = dt.datetime.fromtimestamp(now[0], tz=dt.UTC)
        batch = [Observation(f"sensor-{(number * 1000 + i) % SENSORS}",
                             segments[(number * 7919 + i) % len(segments)],
                             at - dt.timedelta(milliseconds=i), 40.0 + (i % 600) / 10)
                 for i in range(1000)]
        started = time.perf_counter()
        loop.run_until_complete(store.report(batch))
        if now[0] >= next_expiry:
            loop.run_until_complete(store.expire_observations(max_chunks=10_000))
            next_expiry += 3600
        spent += time.perf_counter() - started
        now[0] += step
        if now[0] >= day_end:
            loop.run_until_complete(store.expire_observations(max_chunks=10_000))
            sizes.append(_size(url, store, loop))
            progress(f"  day {len(sizes)}: {sizes[-1] / 1e6:.1f} MB")
            day_end += 86400
    while len(sizes) < DAYS:
        loop.run_until_complete(store.expire_observations(max_chunks=10_000))
        sizes.append(_size(url, store, loop))
    rows = loop.run_until_complete(store.observation_count())
    return store, {"ingest_obs_per_s": batches * 1000 / spent, "rows_retained": rows,
                   "size_day1_bytes": sizes[0], "size_day7_bytes": sizes[-1]}, sizes


def read_cost(store: TrafficStore, highway_id: str, per_segment: int, calls: int,
              loop: asyncio.AbstractEventLoop) -> tuple[float, float]:
    """p50/p99 ms of the store read behind a cache-missing GetTravelTimes, after putting
    `per_segment` observations on every segment of `highway_id` inside the speed window."""
    highway = store.highway(highway_id)
    now = store.now()
    seg_ids = [s.id for d in highway.directions for s in highway.segments[d]]
    for seg in seg_ids:
        for start in range(0, per_segment, 1000):
            loop.run_until_complete(store.report([
                Observation(f"{seg}-hot-{i}", seg, now - dt.timedelta(milliseconds=i * 150 + 1),
                            20.0 + (i * 37 % 9000) / 100)
                for i in range(start, min(per_segment, start + 1000))]))
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        loop.run_until_complete(store.travel_times(highway_id))
        samples.append(time.perf_counter() - started)
    return _percentiles(samples)


def http_p50(url: str, requests: int, *, method: str = "POST", body: bytes = b"",
             path: str | None = None) -> float:
    """Median ms of `requests` sequential requests over one keep-alive connection."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'} if body else {}
    samples = []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            conn.request(method, path or parts.path, body=body or None, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{method} {path or parts.path}: HTTP {response.status}")
            samples.append(time.perf_counter() - started)
    finally:
        conn.close()
    return _percentiles(samples)[0]


def pages(db: str, workdir: Path, name: str, requests: int) -> dict[str, float]:
    """ListHighways and GET / p50 (ms) from a server on `db`."""
    server = servers.start(name, ["-m", "soap_service", "serve", "--host", "127.0.0.1",
                                  "--port", "0", "--db", db, *SERVER_FLAGS],
                           cpus="0", workdir=workdir)
    try:
        return {"list_highways_ms": http_p50(server.url, requests,
                                             body=SOAP.format(LIST_BODY).encode()),
                "get_root_ms": http_p50(server.url, requests, method="GET", path="/")}
    finally:
        server.stop()


def measure_engine(label: str, url: str, workdir: Path, *, observations: int, hot: int,
                   calls: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Everything for one engine's database at `url`."""
    loop = asyncio.new_event_loop()
    try:
        progress(f"{label}: a simulated week, {observations:,} observations")
        started = time.monotonic()
        store, result, _ = simulate_week(url, observations, progress=progress, loop=loop)
        result["week_seconds"] = time.monotonic() - started
        result["read_1_p50_ms"], result["read_1_p99_ms"] = read_cost(store, "1", 1, calls, loop)
        result["read_hot_p50_ms"], result["read_hot_p99_ms"] = read_cost(
            store, "2", hot, calls, loop)
        loop.run_until_complete(store.engine.close())
    finally:
        loop.close()
    result.update(pages(url, workdir, f"scale-{label}", calls))
    return result


def sample_pages(workdir: Path, calls: int) -> dict[str, float]:
    """ListHighways and GET / p50 on the bundled 3-highway sample network (SQLite)."""
    return pages(str(workdir / "sample.db"), workdir, "scale-sample", calls)


def run(*, smoke: bool, observations: int | None = None,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Both engines (PostgreSQL when installed), the sample network, the growth ratios."""
    count = observations or (SMOKE_OBSERVATIONS if smoke else FULL_OBSERVATIONS)
    hot = 300 if smoke else 3000
    calls = 20 if smoke else 200
    out: dict[str, Any] = {"observations": count, "hot_per_segment": hot, "highways": HIGHWAYS,
                           "engines": {}, "unavailable": {}}
    with tempfile.TemporaryDirectory(prefix="highway-scale-") as tmp:
        workdir = Path(tmp)
        out["sample"] = sample_pages(workdir, calls)
        out["engines"]["sqlite"] = measure_engine(
            "sqlite", f"sqlite:///{workdir / 'scale.db'}", workdir, observations=count,
            hot=hot, calls=calls, progress=progress)
        try:
            postgres = _postgres(workdir)
        except NotAvailable as exc:
            out["unavailable"]["postgresql"] = str(exc)
        else:
            try:
                out["engines"]["postgresql"] = measure_engine(
                    "postgresql", postgres.create_database("scale"), workdir,
                    observations=count, hot=hot, calls=calls, progress=progress)
            finally:
                postgres.cleanup()
    for result in out["engines"].values():
        result["read_growth"] = result["read_hot_p50_ms"] / result["read_1_p50_ms"]
        result["page_growth"] = result["get_root_ms"] / out["sample"]["get_root_ms"]
        result["size_growth"] = result["size_day7_bytes"] / result["size_day1_bytes"]
    return out


def markdown(section: dict[str, Any]) -> str:
    """The scale results as a markdown table, with the growth ratios against their targets."""
    hot = section["hot_per_segment"]
    lines = [f"Scale: {section['highways']:,} highways, {section['observations']:,} observations"
             f" over {DAYS} simulated days, 1-day retention",
             "", "| engine | ingest obs/s | GetTravelTimes p50/p99 ms (1/seg) | "
             f"p50/p99 ms ({hot:,}/seg) | ListHighways ms | GET / ms | DB day 1 MB | "
             "DB day 7 MB |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in section["engines"].items():
        lines.append(
            f"| {name} | {r['ingest_obs_per_s']:,.0f} | {r['read_1_p50_ms']:.2f} / "
            f"{r['read_1_p99_ms']:.2f} | {r['read_hot_p50_ms']:.2f} / {r['read_hot_p99_ms']:.2f}"
            f" | {r['list_highways_ms']:.2f} | {r['get_root_ms']:.2f} | "
            f"{r['size_day1_bytes'] / 1e6:.1f} | {r['size_day7_bytes'] / 1e6:.1f} |")
    lines += ["", "| growth ratio | engine | measured | target | verdict |",
              "| --- | --- | --- | --- | --- |"]
    for name, r in section["engines"].items():
        for label, value, target in (
                (f"GetTravelTimes {hot:,} vs 1 obs/segment", r["read_growth"],
                 TARGET_READ_GROWTH),
                ("GET / 1,000 vs 3 highways", r["page_growth"], TARGET_PAGE_GROWTH),
                ("DB size 7 vs 1 simulated days", r["size_growth"], TARGET_SIZE_GROWTH)):
            verdict = "pass" if value <= target else "FAIL"
            lines.append(f"| {label} | {name} | {value:.2f}x | <= {target}x | {verdict} |")
    for name, why in section["unavailable"].items():
        lines.append(f"\n{name}: not measured ({why})")
    return "\n".join(lines)
