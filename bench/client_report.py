"""Client report side (issue 17): observations per second of 1000-item batches sent to one
secured server (digest operator) as raw http.client POSTs, through
`HighwayClient.report_observations`, and with `highway-client report` on a CSV file.

Raw and library batches alternate one by one; each raw POST's time includes building its
envelope and digest (work the library does too); the library gets Observation objects made
before its clock starts (the caller's data). The CLI is timed as a whole process on a file of
`cli_batches` batches and on one of twice as many (medians of CLI_REPEATS runs of each, new
rows every time): the difference is what the extra batches
cost (reading, checking and uploading them: the CLI's upload rate, the target), the whole
process of the larger file (start-up and imports included) is shown next to it. The CLI's
rate is a total over all its batches, slow ones included, so it is compared with raw POSTs'
total rate (observations over the sum of their times), not with their median, over the raw
POSTs alternating with the library and RAW_BESIDE_CLI more sent after each pair of CLI runs
(the server's database grows through the run: raw batches are sampled across the same span as
the CLI's); the library, timed call by call alternately with raw, is compared median to median.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import secured, servers, workload

TARGET = 0.8
# Each CLI file size is run this many times (alternating) and the median taken: one process's
# start-up alone varies by more than what the extra batches cost.
CLI_REPEATS = 5
RAW_BESIDE_CLI = 5  # raw POSTs after each pair of CLI runs (in raw's total rate)
_serial = itertools.count()


def _observations(segments: list[str], newest: dt.datetime) -> list[Any]:
    """A new batch; each batch has its own moment, one second before the previous one's, as
    raw POSTs' batches have theirs (the CSV keeps whole seconds). A file of many batches at
    one moment is slower to store (its index entries spread over the rows of that moment)."""
    from client.models import Observation

    serial = next(_serial)
    prefix = f"c17-{os.getpid()}-{serial}"
    at = newest - dt.timedelta(seconds=5 + serial)
    return [Observation(f"{prefix}-{i}", segments[i % len(segments)], at, float(20 + i % 80))
            for i in range(secured.BATCH)]


def _csv(path: Path, segments: list[str], batches: int, newest: dt.datetime) -> Path:
    lines = ["sensor_id,segment_id,observed_at,speed_kph"]
    for _ in range(batches):
        lines.extend(f"{o.sensor_id},{o.segment_id},"
                     f"{o.observed_at.strftime('%Y-%m-%dT%H:%M:%SZ')},{o.speed_kph:g}"
                     for o in _observations(segments, newest))
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(url: str, args: list[str], cpus: str) -> float:
    env = {**os.environ, "HIGHWAY_PASSWORD": workload.OPERATOR_PASSWORD}
    start = time.perf_counter()
    done = subprocess.run(
        servers.pinned(cpus, [sys.executable, "-m", "client", "--url", url, "--username",
                              workload.OPERATOR, "--digest", *args]),
        capture_output=True, text=True, cwd=servers.ROOT, env=env, timeout=600)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"highway-client {' '.join(args)} failed: {done.stderr[-500:]}")
    return elapsed


def measure(workdir: Path, *, batches: int, cli_batches: int, server_cpus: str,
            loadgen_cpus: str) -> dict[str, Any]:
    """Observations per second: raw POSTs, the library, the CLI; ratios to raw."""
    from client.client import HighwayClient

    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)  # batches go back from here

    with secured.session("client-report", workdir, server_cpus, loadgen_cpus) as (
            server, segments, conn):
        client = HighwayClient(url=server.url, username=workload.OPERATOR,
                               password=workload.OPERATOR_PASSWORD, digest=True, timeout=60)
        raw: list[float] = []
        library: list[float] = []
        for i in range(batches + 2):  # the first two of each warm the paths
            observations = _observations(segments, newest)
            start = time.perf_counter()
            result = client.report_observations(observations)
            took = time.perf_counter() - start
            if result.accepted != secured.BATCH:
                raise RuntimeError(f"library batch: {result!r}")
            start = time.perf_counter()
            status, body = conn.post(secured.report_body(secured.BATCH, segments),
                                     "ReportObservations")
            raw_took = time.perf_counter() - start
            secured.check_report(status, body, secured.BATCH)
            if i >= 2:
                library.append(took)
                raw.append(raw_took)
        client.close()
        smalls: list[float] = []
        larges: list[float] = []
        beside: list[float] = []  # raw POSTs between the CLI runs
        for repeat in range(CLI_REPEATS):  # new rows each time: a re-sent file is duplicates
            small = _csv(workdir / f"client-report-{repeat}-1.csv", segments, cli_batches, newest)
            large = _csv(workdir / f"client-report-{repeat}-2.csv", segments, 2 * cli_batches,
                         newest)
            smalls.append(_cli(server.url, ["report", str(small)], loadgen_cpus))
            larges.append(_cli(server.url, ["report", str(large)], loadgen_cpus))
            beside.extend(secured.repeat(conn, segments, secured.batch_report,
                                         min(RAW_BESIDE_CLI, max(cli_batches, 1))))
        cli_small, cli = statistics.median(smalls), statistics.median(larges)
    raw_rate = secured.BATCH / statistics.median(raw)
    every_raw = raw + beside
    raw_total_rate = secured.BATCH * len(every_raw) / sum(every_raw)
    lib_rate = secured.BATCH / statistics.median(library)
    rows = cli_batches * secured.BATCH
    cli_rate = rows / max(cli - cli_small, 1e-9)  # the extra batches of the larger file
    return {
        "batches": batches, "cli_batches": cli_batches, "raw_total_batches": len(every_raw),
        "raw_obs_per_s": round(raw_rate), "raw_total_obs_per_s": round(raw_total_rate),
        "library_obs_per_s": round(lib_rate),
        "cli_obs_per_s": round(cli_rate),
        "cli_seconds": round(cli, 3), "cli_small_seconds": round(cli_small, 3),
        "cli_whole_obs_per_s": round(2 * rows / cli),
        "library_ratio": lib_rate / raw_rate, "cli_ratio": cli_rate / raw_total_rate,
        "cli_whole_ratio": 2 * rows / cli / raw_total_rate,
    }


def targets(result: dict[str, Any] | None) -> list[tuple[str, float | None, float, bool, str]]:
    """(target, measured, limit, higher is better, unit) for bench/report.py."""
    get = (result or {}).get
    return [
        ("HighwayClient.report_observations >= 0.8 x raw POSTs (obs/s, 1000-item batches)",
         get("library_ratio"), TARGET, True, "x"),
        ("highway-client report >= 0.8 x raw POSTs (obs/s of the upload: 2N - N batches, "
         "vs raw's total rate)",
         get("cli_ratio"), TARGET, True, "x"),
    ]


def markdown(result: dict[str, Any]) -> str:
    """Rates and ratios of the three ways to send the batches."""
    r = result
    return "\n".join([
        "| client report measure (1000-item batches, digest) | obs/s | vs raw |",
        "|---|---:|---:|",
        f"| raw http.client POST (median of {r['batches']}) | {r['raw_obs_per_s']:,} | 1.00x |",
        f"| raw http.client POST (total: {r['raw_total_batches']} batches, those and "
        f"{RAW_BESIDE_CLI} after each pair of CLI runs, over the sum of their times; "
        f"what the CLI is compared with) | {r['raw_total_obs_per_s']:,} | "
        f"{r['raw_total_obs_per_s'] / max(r['raw_obs_per_s'], 1):.2f}x |",
        f"| HighwayClient.report_observations (median of {r['batches']}) | "
        f"{r['library_obs_per_s']:,} | {r['library_ratio']:.2f}x |",
        f"| highway-client report on a CSV file: the upload ({2 * r['cli_batches']} batches in "
        f"{r['cli_seconds']:.2f} s minus {r['cli_batches']} in {r['cli_small_seconds']:.2f} s, "
        f"medians of {CLI_REPEATS} runs) | "
        f"{r['cli_obs_per_s']:,} | {r['cli_ratio']:.2f}x of total |",
        f"| highway-client report, whole process of {2 * r['cli_batches']} batches (start-up "
        f"and imports included) | {r['cli_whole_obs_per_s']:,} | "
        f"{r['cli_whole_ratio']:.2f}x of total |",
    ])
