"""Client part: a HighwayClient call against a raw http.client POST of the same request, and
HighwayClient construction time (first in a fresh process, and repeated)."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from typing import Any

from bench import servers, workload

_FIRST_CONSTRUCTION = """
import json, sys, time
from client.client import HighwayClient
start = time.perf_counter()
HighwayClient(url=sys.argv[1], username=sys.argv[2], password=sys.argv[3], digest=True)
print(json.dumps({"ms": (time.perf_counter() - start) * 1000.0}))
"""


def _pin(cpus: str) -> None:
    """Run the client side on the load generator's core (the server has the other)."""
    try:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    except (AttributeError, OSError, ValueError):
        pass


def first_construction_ms(url: str, cpus: str) -> float:
    """Construction time of the first HighwayClient in a fresh process (imports excluded)."""
    done = subprocess.run(
        servers.pinned(cpus, [sys.executable, "-c", _FIRST_CONSTRUCTION, url,
                              workload.USERNAME, workload.PASSWORD]),
        capture_output=True, text=True, cwd=servers.ROOT, timeout=120, check=True,
    )
    return float(json.loads(done.stdout.strip().splitlines()[-1])["ms"])


def measure(url: str, *, calls: int = 300, cpus: str = "1") -> dict[str, Any]:
    """Median wall time per call, client vs raw POST, interleaved in blocks of 25 calls."""
    from client.client import HighwayClient

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    _pin(cpus)
    try:
        construction = []
        for _ in range(5):
            start = time.perf_counter()
            client = HighwayClient(url=url, username=workload.USERNAME,
                                   password=workload.PASSWORD, digest=True)
            construction.append(time.perf_counter() - start)
        parts = urllib.parse.urlsplit(url)
        raw = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        headers = {"Content-Type": "text/xml; charset=utf-8",
                   "SOAPAction": '"urn:highway-traffic:v1/GetTravelTimes"'}

        def raw_call() -> None:
            # A fresh digest per call, as the client makes one: same work on the wire.
            raw.request("POST", parts.path, body=workload.digest_request(), headers=headers)
            response = raw.getresponse()
            body = response.read()
            if response.status != 200 or b"GetTravelTimesResponse" not in body:
                raise RuntimeError(f"raw POST failed: {response.status} {body[:200]!r}")

        def client_call() -> None:
            result = client.travel_times(workload.HIGHWAY, workload.DIRECTION)
            if not result or result[0].highway != workload.HIGHWAY:
                raise RuntimeError(f"client call gave {result!r}")

        timings: dict[str, list[float]] = {"client": [], "raw": []}
        for _ in range(10):  # warm both paths (connections, caches)
            client_call()
            raw_call()
        for _ in range(max(1, calls // 25)):
            for name, call in (("client", client_call), ("raw", raw_call)):
                for _ in range(25):
                    start = time.perf_counter()
                    call()
                    timings[name].append(time.perf_counter() - start)
        client.close()
        raw.close()
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
    client_ms = statistics.median(timings["client"]) * 1000.0
    raw_ms = statistics.median(timings["raw"]) * 1000.0
    return {
        "calls_each": len(timings["client"]),
        "client_call_ms": round(client_ms, 3),
        "raw_post_ms": round(raw_ms, 3),
        "call_ratio": client_ms / raw_ms if raw_ms else None,
        "construction_ms": first_construction_ms(url, cpus),
        "construction_repeat_ms": round(statistics.median(construction[1:]) * 1000.0, 3),
    }


def markdown(result: dict[str, Any]) -> str:
    """The client part as a small markdown table."""
    return "\n".join([
        "| client measure | value |", "|---|---:|",
        f"| HighwayClient.travel_times() per call (median) | {result['client_call_ms']:.2f} ms |",
        f"| raw http.client POST of the same request (median) | {result['raw_post_ms']:.2f} ms |",
        f"| ratio client / raw | {result['call_ratio']:.2f}x |",
        f"| HighwayClient construction, first in a process | {result['construction_ms']:.1f} ms |",
        f"| HighwayClient construction, repeated | {result['construction_repeat_ms']:.1f} ms |",
    ])
