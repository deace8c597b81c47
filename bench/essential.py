"""Issue 17's per-request ratios, measured in one run against one secured server (digest,
authorization, rate limits, idempotency on; no --stage-timing) at one connection:

- ingest against its essential work: (a) in this process, parse a 1000-item ReportObservations
  envelope with lxml, validate its Body against the contract's XSD and insert its 1000 rows in
  one SQLite transaction (the store's PRAGMAs: WAL, synchronous=FULL) into a fresh database
  made by the project's migrations (plus the sample network its foreign keys need); (b) the
  server's median wall time per 1000-item batch of new observations. Target (a)/(b) >= 0.5.
- single-item ReportObservations per second vs cached reads per second, in interleaved blocks
  of 25. Target >= 0.8.
- cache-missing read vs cached read, median wall time each, interleaved blocks (how a read is
  made to miss: bench/secured.py). Target <= 2.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from pathlib import Path
from typing import Any

from lxml import etree

from bench import secured, workload
from soap_service.contract.contract import validation_schema
from soap_service.store import database, sample_network

BLOCK = 25
TARGET_INGEST, TARGET_SINGLE, TARGET_MISS = 0.5, 0.8, 2.0
_BODY = f"{{{workload.SOAP11}}}Body"
_T = f"{{{workload.TNS}}}"
_INSERT = ("INSERT INTO observations (sensor_id, observed_at_ms, segment_id, speed_kph,"
           " received_at_ms, batch_seq) VALUES (?, ?, ?, ?, ?, 1)")


def _fresh_database(path: Path) -> Any:
    """A new SQLite database of the project's schema and sample network, store PRAGMAs."""
    conn = database.connect(str(path))
    sample_network.load_if_empty(conn)
    return conn


def essential_batch(envelope: bytes, conn: Any) -> float:
    """Parse, schema-validate and insert one batch in one transaction; seconds taken."""
    schema = validation_schema()
    start = time.perf_counter()
    root = etree.fromstring(envelope)
    request = next(child for child in root if child.tag == _BODY)[0]
    if not schema.validate(request):
        raise RuntimeError(f"baseline batch is not schema-valid: {schema.error_log}")
    received = int(time.time() * 1000)
    rows = [(item.findtext(_T + "sensorId"), _ms(item.findtext(_T + "observedAt") or ""),
             item.findtext(_T + "segmentId"), float(item.findtext(_T + "speedKph") or 0),
             received) for item in request]
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(_INSERT, rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    if conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0] < len(rows):
        raise RuntimeError("baseline rows were not stored")
    return elapsed


def _ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def baseline(workdir: Path, segments: list[str], repeats: int) -> list[float]:
    """The essential work of `repeats` batches, each into its own fresh database."""
    times = []
    for i in range(repeats):
        conn = _fresh_database(workdir / f"baseline-{i}.db")
        try:
            times.append(essential_batch(secured.report_body(secured.BATCH, segments), conn))
        finally:
            conn.close()
    return times


def _blocks(conn: secured.Connection, segments: list[str], names: tuple[str, str],
            blocks: int) -> dict[str, list[float]]:
    """Interleaved blocks of BLOCK requests of two workloads; wall times per workload."""
    timings: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(blocks):
        for name in names:
            one = secured.WORKLOADS[name][1]
            timings[name].extend(secured.repeat(conn, segments, one, BLOCK))
    return timings


def measure(workdir: Path, *, batches: int, blocks: int, server_cpus: str,
            loadgen_cpus: str) -> dict[str, Any]:
    """All three ratios against one server; medians in ms, ratios and verdicts."""
    with secured.session("essential", workdir, server_cpus, loadgen_cpus) as (_, segments,
                                                                             conn):
        for name in secured.WORKLOADS:  # warm every path once
            secured.repeat(conn, segments, secured.WORKLOADS[name][1], 3)
        server_batches: list[float] = []
        essential: list[float] = []
        for _ in range(batches):  # interleaved: the baseline and the server side by side
            essential.extend(baseline(workdir, segments, 1))
            server_batches.extend(secured.repeat(conn, segments, secured.batch_report, 1))
        single = _blocks(conn, segments, ("cached read", "single-item report"), blocks)
        miss = _blocks(conn, segments, ("cached read", "cache-missing read"), blocks)
    base_ms = statistics.median(essential) * 1000
    server_ms = statistics.median(server_batches) * 1000
    cached_rate = len(single["cached read"]) / sum(single["cached read"])
    single_rate = len(single["single-item report"]) / sum(single["single-item report"])
    cached_ms = statistics.median(miss["cached read"]) * 1000
    miss_ms = statistics.median(miss["cache-missing read"]) * 1000
    return {
        "batches": batches, "block": BLOCK, "blocks": blocks,
        "baseline_ms": round(base_ms, 3), "server_batch_ms": round(server_ms, 3),
        "ingest_ratio": base_ms / server_ms,
        "cached_read_per_s": round(cached_rate, 1), "single_report_per_s": round(single_rate, 1),
        "single_ratio": single_rate / cached_rate,
        "cached_read_ms": round(cached_ms, 3), "missing_read_ms": round(miss_ms, 3),
        "miss_ratio": miss_ms / cached_ms,
    }


def targets(result: dict[str, Any] | None) -> list[tuple[str, float | None, float, bool, str]]:
    """(target, measured, limit, higher is better, unit) for bench/report.py."""
    get = (result or {}).get
    return [
        ("ingest essential work / server per 1000-item batch >= 0.5 (1 conn, secured)",
         get("ingest_ratio"), TARGET_INGEST, True, "x"),
        ("single-item reports/s >= 0.8 x cached reads/s (1 conn)", get("single_ratio"),
         TARGET_SINGLE, True, "x"),
        ("cache-missing read <= 2 x cached read (1 conn)", get("miss_ratio"), TARGET_MISS,
         False, "x"),
    ]


def markdown(result: dict[str, Any]) -> str:
    """The three comparisons with their verdicts."""
    def verdict(ok: bool) -> str:
        return "pass" if ok else "FAIL"
    r = result
    return "\n".join([
        "| per-request measure (1 connection, secured server) | value |", "|---|---:|",
        f"| essential work of a 1000-item batch (lxml parse + XSD + one SQLite transaction, "
        f"in process, median of {r['batches']}) | {r['baseline_ms']:.1f} ms |",
        f"| server wall per 1000-item ReportObservations (digest, authorization, limits, "
        f"idempotency; median) | {r['server_batch_ms']:.1f} ms |",
        f"| ingest ratio essential / server (target >= {TARGET_INGEST}) | "
        f"{r['ingest_ratio']:.2f}x {verdict(r['ingest_ratio'] >= TARGET_INGEST)} |",
        f"| single-item ReportObservations per second | {r['single_report_per_s']:,.0f} |",
        f"| cached GetTravelTimes per second (blocks of {r['block']} interleaved) | "
        f"{r['cached_read_per_s']:,.0f} |",
        f"| single-item / cached-read rate (target >= {TARGET_SINGLE}) | "
        f"{r['single_ratio']:.2f}x {verdict(r['single_ratio'] >= TARGET_SINGLE)} |",
        f"| cached read (median) | {r['cached_read_ms']:.2f} ms |",
        "| cache-missing read (median; each read follows an untimed 1-item batch on its "
        "highway, which invalidates that highway's cached answer) | "
        f"{r['missing_read_ms']:.2f} ms |",
        f"| miss / cached (target <= {TARGET_MISS}) | {r['miss_ratio']:.2f}x "
        f"{verdict(r['miss_ratio'] <= TARGET_MISS)} |",
    ])
