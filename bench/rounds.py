"""Interleaved measurement: every round runs A B C D E at each connection count, side by side."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import loadgen, workload
from bench.servers import Server

# Envelopes generated per expected request: wrk must never run out (digest nonces can't repeat).
HEADROOM = 2.0
FIRST_GUESS_RPS = 5000.0


@dataclasses.dataclass
class Run:
    """One wrk run against one server."""

    round: int
    variant: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_request: float
    worker_rss_mb: float
    requests: int
    correct: bool
    bad: int
    faults: int
    throttled: int
    socket_errors: int
    exhausted: int
    first_bad: str


class RssSampler:
    """Samples the serving processes' resident memory while a run is under way."""

    def __init__(self, server: Server, interval: float = 0.25) -> None:
        self._server = server
        self._interval = interval
        self._stop = threading.Event()
        self.peak_mb = 0.0
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_mb = max(self.peak_mb, self._server.worker_rss_mb())

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._server.worker_rss_mb())


class Measurer:
    """Runs wrk against the servers, sizing fresh digest envelopes from earlier rates."""

    def __init__(self, workdir: Path, *, duration: float, loadgen_cpus: str) -> None:
        self._workdir = workdir
        self._duration = duration
        self._cpus = loadgen_cpus
        self._best_rps: dict[tuple[str, int], float] = {}
        self._plain = workload.write_requests(workdir / "plain.txt", 1, secured=False)

    def requests_for(self, variant: str, connections: int, secured: bool) -> Path:
        """The requests file for the next run: fresh nonces and Created for secured variants."""
        if not secured:
            return self._plain
        rate = self._best_rps.get((variant, connections), FIRST_GUESS_RPS)
        count = int(rate * self._duration * HEADROOM) + 500
        return workload.write_requests(self._workdir / "secured.txt", count, secured=True)

    def measure(self, round_no: int, variant: str, server: Server, connections: int,
                secured: bool, duration: float | None = None) -> Run:
        """One wrk run with CPU time and memory of the server read around it."""
        seconds = duration or self._duration
        requests = self.requests_for(variant, connections, secured)
        cpu_before = server.cpu_seconds()
        with RssSampler(server) as rss:
            result = loadgen.run_wrk(server.url, requests, connections=connections,
                                     duration=seconds, cpus=self._cpus, reuse=not secured)
        cpu = server.cpu_seconds() - cpu_before
        key = (variant, connections)
        self._best_rps[key] = max(self._best_rps.get(key, 0.0), result.rps)
        return Run(
            round=round_no, variant=variant, connections=connections, rps=result.rps,
            p50_ms=result.p50_ms, p99_ms=result.p99_ms,
            cpu_us_per_request=cpu / result.requests * 1e6 if result.requests else 0.0,
            worker_rss_mb=rss.peak_mb, requests=result.requests, correct=result.correct,
            bad=result.bad, faults=result.faults, throttled=result.throttled,
            socket_errors=result.socket_errors, exhausted=result.exhausted,
            first_bad=result.first_bad,
        )


def interleave(measurer: Measurer, running: dict[str, Server], secured: dict[str, bool], *,
               rounds: int, connections: Sequence[int], warmup: float,
               progress: Callable[[Run], None] = lambda run: None) -> list[Run]:
    """Warm every server up, then rounds of (for each connection count: A B C D E)."""
    for key, server in running.items():
        measurer.measure(0, key, server, max(connections), secured[key], duration=warmup)
    runs: list[Run] = []
    for round_no in range(1, rounds + 1):
        for conns in connections:
            for key, server in running.items():
                run = measurer.measure(round_no, key, server, conns, secured[key])
                runs.append(run)
                progress(run)
                time.sleep(0.2)  # let the server finish writing before the next one starts
    return runs
