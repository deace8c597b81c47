"""Per-stage costs (issue 17): µs per request in each stage, for each workload of
bench/secured.py at one connection, from `highway_stage_seconds_total` read before and after
the workload on a server started with --stage-timing. That server is not one whose throughput
is measured, so the timer never skews a ratio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench import secured
from soap_service.core.stage_timing import OTHER, STAGES

WARMUP = 5


def _totals(text: str) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """(operation, stage) -> seconds and operation -> requests, from the metrics text."""
    seconds: dict[tuple[str, str], float] = {}
    requests: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "highway_stage_seconds_total":
                seconds[(sample.labels["operation"], sample.labels["stage"])] = sample.value
            elif sample.name == "highway_stage_requests_total":
                requests[sample.labels["operation"]] = sample.value
    return seconds, requests


def measure(workdir: Path, *, requests: dict[str, int], server_cpus: str,
            loadgen_cpus: str) -> dict[str, Any]:
    """Run each workload against one --stage-timing server; µs per request per stage."""
    rows: dict[str, Any] = {}
    with secured.session("stage-timing", workdir, server_cpus, loadgen_cpus,
                         timed=True) as (server, segments, conn):
        url = secured.metrics_url(server)
        for name, (operation, one) in secured.WORKLOADS.items():
            secured.repeat(conn, segments, one, WARMUP)
            before = _totals(secured.scrape(url))
            walls = secured.repeat(conn, segments, one, requests[name])
            after = _totals(secured.scrape(url))
            rows[name] = _per_request(operation, before, after, walls)
    return {"workloads": rows, "stages": [*STAGES, OTHER]}


def _per_request(operation: str, before: Any, after: Any, walls: list[float]) -> dict[str, Any]:
    (sec0, req0), (sec1, req1) = before, after
    # A cache-missing read's invalidating batch is a ReportObservations: not in these counts.
    count = req1.get(operation, 0) - req0.get(operation, 0)
    stages = {stage: (sec1.get((operation, stage), 0.0) - sec0.get((operation, stage), 0.0))
              * 1e6 / count for stage in [*STAGES, OTHER]} if count else {}
    return {"operation": operation, "requests": int(count), "us": stages,
            "timed_us": sum(stages.values()),
            "client_wall_us": sum(walls) * 1e6 / len(walls) if walls else None}


def markdown(result: dict[str, Any]) -> str:
    """µs per request: one row per stage, one column per workload."""
    names = list(result["workloads"])
    rows = result["workloads"]
    lines = ["| stage (µs per request, 1 connection) | " + " | ".join(names) + " |",
             "|---|" + "---:|" * len(names)]
    for stage in result["stages"]:
        values = [rows[n]["us"].get(stage, 0.0) for n in names]
        if stage == OTHER and not any(values):
            continue
        lines.append(f"| {stage} | " + " | ".join(f"{v:,.0f}" for v in values) + " |")
    lines.append("| **sum of stages** | " + " | ".join(
        f"**{rows[n]['timed_us']:,.0f}**" for n in names) + " |")
    lines.append("| client wall per request | " + " | ".join(
        f"{rows[n]['client_wall_us']:,.0f}" for n in names) + " |")
    lines.append("| requests timed | " + " | ".join(str(rows[n]["requests"]) for n in names)
                 + " |")
    return "\n".join(lines)
