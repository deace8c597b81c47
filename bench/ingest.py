"""Reads under ingest: GetTravelTimes per second and p50/p99 while another client reports
1000-item batches back to back, on SQLite and PostgreSQL (one process; two processes sharing
one PostgreSQL, reads on one and batches to the other), and ingest observations per second.
Each configuration: reads alone, ingest alone, reads under ingest, reads alone again (over
the rows the batches left in the speed window).

Figures, not assertions: the targets (reads under ingest >= 0.5 x reads alone, p99 < 50 ms,
PostgreSQL ingest >= 0.7 x SQLite's) are printed as verdicts next to the measured ratios.
The PostgreSQL server is a throwaway cluster started like the tests' (tests/store/pg_proc.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import loadgen, servers, variants, workload
from bench.servers import Server

BATCH = 1000
PREBUILT = 240  # bodies made ahead per ingesting client (more are made as needed)
READ_CONNECTIONS = 16
# The servers here run without authentication (reads and batches are the store's load, not
# digest checking); every limit is set far above what the benchmark can reach.
SERVER_FLAGS = ("--no-require-auth", *variants.HIGH_LIMITS,
                "--rate-limit", "*=100000000/minute",
                "--rate-limit", "operator:ReportObservations=100000000/minute")
_ACCEPTED = re.compile(rb"<(?:\w+:)?accepted>(\d+)</")
TARGET_READ_RATIO, TARGET_P99_MS, TARGET_INGEST_RATIO = 0.5, 50.0, 0.7


class NotAvailable(RuntimeError):
    """A part of this section cannot run here (reason in the message)."""


@dataclasses.dataclass
class IngestResult:
    """What the ingesting client did: acknowledged observations and batches, and failures."""

    observations: int = 0
    batches: int = 0
    seconds: float = 0.0
    bad: int = 0
    first_bad: str = ""

    @property
    def per_second(self) -> float:
        """Acknowledged (accepted) observations per second."""
        return self.observations / self.seconds if self.seconds else 0.0


def report_body(prefix: str, number: int, segments: list[str], at: dt.datetime) -> bytes:
    """One ReportObservations envelope of BATCH new observations (unique sensor ids)."""
    return (f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{workload.SOAP11}" '
            f'xmlns:t="{workload.TNS}"><s:Body>'
            f"{workload.report_items(f'{prefix}-{number}', BATCH, segments, at)}"
            "</s:Body></s:Envelope>").encode()


class Ingester(threading.Thread):
    """Sends BATCH-item batches back to back over one keep-alive connection until stopped;
    a batch counts only if answered 200 with every item accepted."""

    def __init__(self, url: str, segments: list[str], prefix: str, *, cpus: str | None = None,
                 prebuilt: int = PREBUILT) -> None:
        super().__init__(daemon=True, name=f"ingest-{prefix}")
        self._url = urllib.parse.urlsplit(url)
        self._segments = segments
        self._prefix = prefix
        self._cpus = cpus
        self._halt = threading.Event()
        self.first_batch = threading.Event()
        self.result = IngestResult()
        # Built before the clock starts: making a 150 KB body costs the client milliseconds of
        # CPU, which would otherwise compete with the load generator (or the server) for a core.
        at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        self._bodies = [report_body(prefix, n, segments, at) for n in range(prebuilt)]

    def _body(self, number: int) -> bytes:
        if number < len(self._bodies):
            return self._bodies[number]
        return report_body(self._prefix, number, self._segments,
                           dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))

    def _connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self._url.hostname or "127.0.0.1", self._url.port,
                                          timeout=30)

    def run(self) -> None:
        """The client loop (runs in this thread, on the load generator's cores)."""
        if self._cpus is not None:
            try:  # pid 0: this thread only (Linux)
                os.sched_setaffinity(0, {int(c) for c in self._cpus.split(",")})
            except (AttributeError, OSError, ValueError):
                pass
        conn = self._connection()
        started = time.perf_counter()
        number = 0
        try:
            while not self._halt.is_set():
                body = self._body(number)
                number += 1
                try:
                    conn.request("POST", self._url.path, body=body, headers={
                        "Content-Type": "text/xml; charset=utf-8",
                        "SOAPAction": '"urn:highway-traffic:v1/ReportObservations"'})
                    response = conn.getresponse()
                    answer = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self._bad(f"{type(exc).__name__}: {exc}")
                    conn.close()
                    conn = self._connection()
                    continue
                match = _ACCEPTED.search(answer)
                if response.status == 200 and match and int(match.group(1)) == BATCH:
                    self.result.observations += BATCH
                    self.result.batches += 1
                    self.first_batch.set()
                else:
                    self._bad(f"{response.status} {answer[:300]!r}")
        finally:
            self.result.seconds = time.perf_counter() - started
            conn.close()
            self.first_batch.set()

    def _bad(self, what: str) -> None:
        self.result.bad += 1
        if not self.result.first_bad:
            self.result.first_bad = what[:300]

    def finish(self) -> IngestResult:
        """Stop after the batch in flight and return the totals."""
        self._halt.set()
        self.join(timeout=60)
        return self.result


@contextmanager
def ingesting(url: str, segments: list[str], prefix: str,
              cpus: str | None = None) -> Iterator[Ingester]:
    """An Ingester running (its first batch acknowledged) for the duration of the block."""
    ingester = Ingester(url, segments, prefix, cpus=cpus)
    ingester.start()
    ingester.first_batch.wait(timeout=60)
    try:
        yield ingester
    finally:
        ingester.finish()


def _read_row(load: loadgen.LoadResult) -> dict[str, Any]:
    return {"rps": round(load.rps, 1), "p50_ms": round(load.p50_ms, 2),
            "p99_ms": round(load.p99_ms, 2), "correct": load.correct,
            "requests": load.requests, "first_bad": load.first_bad}


def measure(label: str, read_url: str, ingest_server: Server, segments: list[str], *,
            duration: float, loadgen_cpus: str, workdir: Path) -> dict[str, Any]:
    """Reads alone, ingest alone, then reads while batches arrive back to back."""
    ingest_url = ingest_server.url
    requests = workload.write_requests(workdir / "ingest-reads.txt", 1, secured=False)

    def reads() -> loadgen.LoadResult:
        return loadgen.run_wrk(read_url, requests, connections=READ_CONNECTIONS,
                               duration=duration, cpus=loadgen_cpus, reuse=True)

    tag = re.sub(r"\W+", "", label.lower())
    loadgen.run_wrk(read_url, requests, connections=READ_CONNECTIONS,  # warm-up, not kept
                    duration=min(2.0, duration), cpus=loadgen_cpus, reuse=True)
    alone = reads()
    cpu_before = ingest_server.cpu_seconds()
    with ingesting(ingest_url, segments, f"{tag}a", loadgen_cpus) as ingester:
        time.sleep(duration)
    ingest_alone = ingester.result
    # The ingesting server's CPU per batch (parse, schema, binding, checks, the insert's
    # share): with one reactor per process, that much reactor time each read may wait behind.
    cpu_per_batch_ms = ((ingest_server.cpu_seconds() - cpu_before) * 1000
                        / max(1, ingest_alone.batches))
    with ingesting(ingest_url, segments, f"{tag}b", loadgen_cpus) as ingester:
        under = reads()
    ingest_under = ingester.result
    # Alone again, over the rows the batches left in the speed window: tells a slowdown from
    # contention (recovers here) apart from one from the data read (stays).
    after = reads()
    ratio = under.rps / alone.rps if alone.rps else 0.0
    return {
        "label": label, "reads_alone": _read_row(alone), "reads_under_ingest": _read_row(under),
        "reads_after_ingest": _read_row(after), "read_ratio": round(ratio, 3),
        "ingest_alone_obs_per_s": round(ingest_alone.per_second, 1),
        "ingest_under_reads_obs_per_s": round(ingest_under.per_second, 1),
        "server_cpu_ms_per_batch": round(cpu_per_batch_ms, 1),
        "batches": ingest_alone.batches + ingest_under.batches,
        "ingest_bad": ingest_alone.bad + ingest_under.bad,
        "ingest_first_bad": ingest_alone.first_bad or ingest_under.first_bad,
        "correct": alone.correct and under.correct and after.correct
        and not (ingest_alone.bad + ingest_under.bad)
        and ingest_alone.batches > 0 and ingest_under.batches > 0,
    }


def _serve(name: str, db: str, cpus: str, workdir: Path) -> Server:
    return servers.start(name, ["-m", "soap_service", "serve", "--host", "127.0.0.1",
                                "--port", "0", "--db", db, *SERVER_FLAGS],
                         cpus=cpus, workdir=workdir)


def _postgres(workdir: Path) -> Any:
    """A throwaway PostgreSQL cluster, or NotAvailable."""
    try:
        from tests.store.pg_proc import PostgresProcess, pg_bindir
    except ImportError as exc:
        raise NotAvailable(f"tests/store/pg_proc.py not importable: {exc}") from None
    bindir = pg_bindir()
    if bindir is None:
        raise NotAvailable("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresProcess(bindir)
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001 - initdb/pg_ctl failed: the reason, one line
        server.cleanup()
        raise NotAvailable(f"PostgreSQL did not start: {str(exc)[:200]}") from None
    return server


def run(workdir: Path, *, duration: float, server_cpus: str, wide_cpus: str,
        loadgen_cpus: str, progress: Callable[[str], None]) -> dict[str, Any]:
    """Every configuration that can run here; `unavailable` says why one could not."""
    rows: list[dict[str, Any]] = []
    unavailable: dict[str, str] = {}

    # The second process stands for a second machine: with fewer than 3 cores it gets the load
    # generator's core rather than sharing the first process's (the reads measured are on
    # the first; sharing its core would measure a core split between two servers).
    second_cpus = wide_cpus if (os.cpu_count() or 1) >= 3 else loadgen_cpus

    def one(label: str, db: str, two: bool) -> None:
        segments = workload.seed_database(db)
        started = [_serve(f"ingest-{len(rows)}-a", db, server_cpus, workdir)]
        try:
            if two:
                started.append(_serve(f"ingest-{len(rows)}-b", db, second_cpus, workdir))
            row = measure(label, started[0].url, started[-1], segments,
                          duration=duration, loadgen_cpus=loadgen_cpus, workdir=workdir)
        finally:
            for server in started:
                server.stop()
        rows.append(row)
        progress(f"  ingest {label}: reads {row['reads_alone']['rps']:,.0f} -> "
                 f"{row['reads_under_ingest']['rps']:,.0f}/s (x{row['read_ratio']:.2f}), "
                 f"p99 {row['reads_under_ingest']['p99_ms']:.1f} ms, ingest "
                 f"{row['ingest_alone_obs_per_s']:,.0f} obs/s")

    try:
        one("SQLite, 1 process", f"sqlite:///{workdir / 'ingest.db'}", False)
    except (RuntimeError, OSError) as exc:
        unavailable["SQLite"] = str(exc).splitlines()[0][:200]
    try:
        postgres = _postgres(workdir)
    except NotAvailable as exc:
        unavailable["PostgreSQL"] = str(exc)
    else:
        try:
            for number, (label, two) in enumerate((("PostgreSQL, 1 process", False),
                                                    ("PostgreSQL, 2 processes", True))):
                try:
                    url = postgres.create_database(f"bench{number}")
                    one(label, url, two)
                except (RuntimeError, OSError) as exc:
                    unavailable[label] = str(exc).splitlines()[0][:200]
        finally:
            postgres.cleanup()
    by_label = {row["label"]: row for row in rows}
    sqlite, pg = by_label.get("SQLite, 1 process"), by_label.get("PostgreSQL, 1 process")
    pg_ratio = (round(pg["ingest_alone_obs_per_s"] / sqlite["ingest_alone_obs_per_s"], 3)
                if sqlite and pg and sqlite["ingest_alone_obs_per_s"] else None)
    return {"duration_s": duration, "batch": BATCH, "read_connections": READ_CONNECTIONS,
            "placement": {"first_process": server_cpus, "second_process": second_cpus,
                          "clients": loadgen_cpus},
            "rows": rows, "pg_over_sqlite_ingest": pg_ratio, "unavailable": unavailable,
            "correct": all(row["correct"] for row in rows) and bool(rows)}


def markdown(section: dict[str, Any]) -> str:
    """The section as a table, the ratios, and verdicts against the issue's targets."""
    lines = [
        f"Reads under ingest (GetTravelTimes, {section['read_connections']} connections; "
        f"batches of {section['batch']} back to back from one client; "
        f"{section['duration_s']:g} s each; cores: first process "
        f"{section.get('placement', {}).get('first_process', '?')}, second process "
        f"{section.get('placement', {}).get('second_process', '?')}, clients "
        f"{section.get('placement', {}).get('clients', '?')}):", "",
        "| configuration | reads alone /s | p50 / p99 ms | reads under ingest /s | "
        "p50 / p99 ms | ratio | reads after ingest /s | ingest obs/s (alone / under reads) "
        "| server CPU ms/batch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in section["rows"]:
        a, u = row["reads_alone"], row["reads_under_ingest"]
        lines.append(
            f"| {row['label']}{'' if row['correct'] else ' (WRONG ANSWERS)'} | {a['rps']:,.0f} "
            f"| {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | {u['rps']:,.0f} | "
            f"{u['p50_ms']:.1f} / {u['p99_ms']:.1f} | {row['read_ratio']:.2f} | "
            f"{row['reads_after_ingest']['rps']:,.0f} | "
            f"{row['ingest_alone_obs_per_s']:,.0f} / {row['ingest_under_reads_obs_per_s']:,.0f} "
            f"| {row['server_cpu_ms_per_batch']:.0f} |")
    for what, why in section["unavailable"].items():
        lines.append(f"| {what} | not measured: {why} | | | | | | | |")
    lines.append("")
    for row in section["rows"]:
        ratio_ok = row["read_ratio"] >= TARGET_READ_RATIO
        p99_ok = row["reads_under_ingest"]["p99_ms"] < TARGET_P99_MS
        lines.append(f"- {row['label']}: reads under ingest / alone = {row['read_ratio']:.2f} "
                     f"(target >= {TARGET_READ_RATIO}: {'met' if ratio_ok else 'NOT met'}); "
                     f"p99 {row['reads_under_ingest']['p99_ms']:.1f} ms "
                     f"(target < {TARGET_P99_MS:g}: {'met' if p99_ok else 'NOT met'})")
    if section["pg_over_sqlite_ingest"] is not None:
        ratio = section["pg_over_sqlite_ingest"]
        lines.append(f"- PostgreSQL ingest / SQLite ingest (1 process) = {ratio:.2f} "
                     f"(target >= {TARGET_INGEST_RATIO}: "
                     f"{'met' if ratio >= TARGET_INGEST_RATIO else 'NOT met'})")
    return "\n".join(lines)
