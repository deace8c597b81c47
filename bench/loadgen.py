"""Driving wrk (pinned to its own core) with pre-built requests, and reading its verdict."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from pathlib import Path

from bench import workload
from bench.servers import pinned

SCRIPT = Path(__file__).resolve().parent / "requests.lua"
RESULT_PREFIX = "BENCH_RESULT "


@dataclasses.dataclass
class LoadResult:
    """What one wrk run measured, and whether every answer was a correct one."""

    requests: int
    duration_s: float
    p50_ms: float
    p99_ms: float
    ok: int
    bad: int
    faults: int
    throttled: int
    exhausted: int
    socket_errors: int
    first_bad: str

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def correct(self) -> bool:
        """Every answer checked and correct; no socket errors; no request repeated."""
        return (self.bad == 0 and self.socket_errors == 0 and self.exhausted == 0
                and self.ok > 0)


def available() -> bool:
    """True when the wrk binary is installed."""
    return shutil.which("wrk") is not None


def run_wrk(url: str, requests_file: Path, *, connections: int, duration: float,
            cpus: str, reuse: bool, timeout_s: float = 10.0) -> LoadResult:
    """Run wrk against `url` for `duration` seconds with `connections` keep-alive connections.

    One wrk thread: the load generator has one core, and a second thread would only compete
    with the first for it.
    """
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_THREADS": "1",
        "BENCH_REUSE": "1" if reuse else "0",
        "BENCH_MARKERS": "|".join(workload.EXPECTED_MARKERS),
    }
    command = pinned(cpus, [
        "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s:g}s", "-s", str(SCRIPT), url,
    ])
    completed = subprocess.run(command, env=env, capture_output=True, text=True,
                               timeout=duration + timeout_s + 60)
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX):])
            return LoadResult(
                requests=data["requests"],
                duration_s=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000.0,
                p99_ms=data["p99_us"] / 1000.0,
                ok=data["ok"], bad=data["bad"], faults=data["faults"],
                throttled=data["throttled"], exhausted=data["exhausted"],
                socket_errors=data["socket_errors"], first_bad=data["first_bad"],
            )
    raise RuntimeError(f"wrk gave no result (exit {completed.returncode}):\n"
                       f"{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
