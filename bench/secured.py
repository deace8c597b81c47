"""Issue 17's secured servers and workloads at one connection: digest accounts (reader and
operator), every limit on but far out of reach, one keep-alive connection, each answer checked.

Workloads (each request built before its clock starts, so only the exchange is timed):
- cached read: GetTravelTimes(217, NB) with a fresh PasswordDigest (answered from the
  response cache, except the first read of each second);
- cache-missing read: the same read, each one preceded (untimed) by a one-observation batch
  on highway 217, which bumps that highway's data version: the read must rebuild its answer
  (store read of the new row, Spyne serialization), as it does after real ingest;
- single report: ReportObservations of one new observation;
- batch report: ReportObservations of 1000 new observations across the network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import itertools
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import servers, variants, workload
from bench.servers import Server

BATCH = 1000
FLAGS = (*variants.HIGH_LIMITS, "--rate-limit", "operator=100000000/minute",
         "--rate-limit", "operator:ReportObservations=100000000/minute")
METRICS_AT = re.compile(r"metrics at (http://\S+/metrics)")
_ACCEPTED = re.compile(rb"<(?:\w+:)?accepted>(\d+)</")
_ACTION = '"urn:highway-traffic:v1/{}"'
_RUN = os.urandom(3).hex()  # sensor ids never repeat across runs sharing a database
_serial = itertools.count()

Timings = list[float]


def add_accounts(db: Path) -> None:
    """The benchmark's digest reader and operator in `db`."""
    for name, role, password in ((workload.USERNAME, "reader", workload.PASSWORD),
                                 (workload.OPERATOR, "operator", workload.OPERATOR_PASSWORD)):
        done = subprocess.run(
            [sys.executable, "-m", "soap_service", "users", "add", name, "--role", role,
             "--digest", "--db", str(db)],
            input=password + "\n", capture_output=True, text=True, cwd=servers.ROOT, timeout=60)
        if done.returncode != 0:
            raise variants.NotAvailable(f"cannot add {name}: {done.stderr.strip()[-300:]}")


def start(name: str, workdir: Path, cpus: str, *, timed: bool = False) -> tuple[Server, list[str]]:
    """A fresh seeded database with both accounts and a server on it (with --stage-timing
    and a metrics listener when `timed`); returns the server and the segment ids."""
    db = workdir / f"{name}.db"
    segments = workload.seed_database(db)
    add_accounts(db)
    extra = ("--stage-timing", "--metrics-port", "0") if timed else ()
    args = ["-m", "soap_service", "serve", "--host", "127.0.0.1", "--port", "0",
            "--db", str(db), *FLAGS, *extra]
    return servers.start(name, args, cpus=cpus, workdir=workdir), segments


def metrics_url(server: Server) -> str:
    """The metrics URL the server logged at start."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        match = METRICS_AT.search(server.log_path.read_text(errors="replace"))
        if match:
            return match.group(1)
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} logged no metrics URL")


def scrape(url: str) -> str:
    """The metrics text."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return str(answer.read().decode())


class Connection:
    """One keep-alive HTTP connection to a server's SOAP endpoint."""

    def __init__(self, url: str) -> None:
        self._parts = urllib.parse.urlsplit(url)
        self._conn = http.client.HTTPConnection(self._parts.hostname or "127.0.0.1",
                                                self._parts.port, timeout=60)

    def post(self, body: bytes, operation: str) -> tuple[int, bytes]:
        """POST one envelope; (status, body)."""
        self._conn.request("POST", self._parts.path, body=body, headers={
            "Content-Type": "text/xml; charset=utf-8", "SOAPAction": _ACTION.format(operation)})
        response = self._conn.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _check_read(status: int, body: bytes) -> None:
    if status != 200 or not all(m.encode() in body for m in workload.EXPECTED_MARKERS):
        raise RuntimeError(f"read failed: {status} {body[:300]!r}")


def check_report(status: int, body: bytes, count: int) -> None:
    match = _ACCEPTED.search(body)
    if status != 200 or match is None or int(match.group(1)) != count:
        raise RuntimeError(f"batch of {count} not accepted: {status} {body[:300]!r}")


def report_body(count: int, segments: list[str]) -> bytes:
    """A digest-authenticated batch of `count` observations nobody sent before."""
    prefix = f"b17-{_RUN}-{next(_serial)}"
    return workload.report_request(prefix, count, segments,
                                   dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))


def cached_read(conn: Connection, segments: list[str]) -> float:
    """One cached secured read; its wall time."""
    body = workload.digest_request()
    start = time.perf_counter()
    status, answer = conn.post(body, "GetTravelTimes")
    elapsed = time.perf_counter() - start
    _check_read(status, answer)
    return elapsed


def missing_read(conn: Connection, segments: list[str]) -> float:
    """One secured read right after a batch on its highway (untimed); the read's wall time."""
    status, answer = conn.post(report_body(1, [s for s in segments
                                               if s.startswith(workload.HIGHWAY + "-")]),
                               "ReportObservations")
    check_report(status, answer, 1)
    return cached_read(conn, segments)


def _report(count: int) -> Callable[[Connection, list[str]], float]:
    def send(conn: Connection, segments: list[str]) -> float:
        body = report_body(count, segments)
        start = time.perf_counter()
        status, answer = conn.post(body, "ReportObservations")
        elapsed = time.perf_counter() - start
        check_report(status, answer, count)
        return elapsed
    return send


single_report = _report(1)
batch_report = _report(BATCH)
# name -> (the operation it times, one request of it)
WORKLOADS: dict[str, tuple[str, Callable[[Connection, list[str]], float]]] = {
    "cached read": ("GetTravelTimes", cached_read),
    "cache-missing read": ("GetTravelTimes", missing_read),
    "single-item report": ("ReportObservations", single_report),
    "1000-item report": ("ReportObservations", batch_report),
}


def repeat(conn: Connection, segments: list[str],
           one: Callable[[Connection, list[str]], float], times: int) -> Timings:
    """`times` requests of one workload; their wall times."""
    return [one(conn, segments) for _ in range(times)]


@contextlib.contextmanager
def session(name: str, workdir: Path, server_cpus: str, loadgen_cpus: str, *,
            timed: bool = False) -> Iterator[tuple[Server, list[str], Connection]]:
    """A fresh server (see `start`), this process on the load generator's cores, and one
    connection to it; all undone on exit."""
    server, segments = start(name, workdir, server_cpus, timed=timed)
    affinity = pin(loadgen_cpus)
    conn = Connection(server.url)
    try:
        yield server, segments, conn
    finally:
        conn.close()
        unpin(affinity)
        server.stop()


def pin(cpus: str) -> set[int] | None:
    """Run this process on the load generator's cores; returns the affinity to restore."""
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    except (AttributeError, OSError, ValueError):
        return None
    return before


def unpin(affinity: set[int] | None) -> None:
    """Restore the affinity `pin` returned."""
    if affinity is not None:
        os.sched_setaffinity(0, affinity)
