"""A smoke-sized run of the benchmark: every variant answers correctly under load, and the
JSON, the chart and the markdown table are produced. Speed targets are not asserted here:
they live in the benchmark's own output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench import client_report as client_report_section
from bench import essential as essential_section
from tests.conftest import ROOT
from tests.store.pg_proc import pg_bindir

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def test_smoke_run_checks_every_answer_and_writes_results(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["all_correct"] is True
    measured = {run["variant"] for run in result["runs"]}
    expected = {"A", "B", "C", "E"} | ({"D"} if shutil.which("redis-server") else set())
    assert expected <= measured, result["unavailable"]
    for run in result["runs"]:
        assert run["correct"] and run["requests"] > 0, run
        assert run["throttled"] == 0 and run["faults"] == 0
    assert result["client"]["call_ratio"] > 0
    assert {row["target"] for row in result["targets"]} >= {
        "C >= 2.0 x B (req/s, 16 conns)", "C p99 at 16 conns < 25 ms"}
    assert "| C: ours, everything on" in done.stdout and "Targets (machine has" in done.stdout
    # Reads under ingest: every read answer and every batch acknowledgement was checked.
    ingest = result["ingest"]
    assert ingest["correct"] is True, ingest
    labels = {row["label"] for row in ingest["rows"]}
    expected_labels = {"SQLite, 1 process"} | (
        {"PostgreSQL, 1 process", "PostgreSQL, 2 processes"} if pg_bindir() else set())
    assert expected_labels <= labels, ingest["unavailable"]
    for row in ingest["rows"]:
        assert row["batches"] > 0 and row["reads_under_ingest"]["requests"] > 0, row
    assert "Reads under ingest" in done.stdout
    _check_issue17_sections(result, done.stdout)
    # The chart needs the `bench` extra (matplotlib); CI installs it, so there it must exist.
    if _has_matplotlib() or os.environ.get("CI", "").lower() == "true":
        assert (tmp_path / "latest.png").stat().st_size > 1000


def _check_issue17_sections(result: dict, stdout: str) -> None:
    """Per-stage costs, the per-request ratios and the client report side were measured."""
    stages = result["stages"]["workloads"]
    assert set(stages) == {"cached read", "cache-missing read", "single-item report",
                           "1000-item report"}
    everywhere = {"front_door", "parse", "schema", "ws_security", "authorization",
                  "rate_limit", "operation", "observers"}
    for name, row in stages.items():
        assert row["requests"] > 0, (name, row)
        assert {stage for stage, us in row["us"].items() if us > 0} >= everywhere, (name, row)
    # A miss and a batch reach the store; a miss is serialized by Spyne.
    for name in ("cache-missing read", "single-item report", "1000-item report"):
        assert stages[name]["us"]["store"] > 0, (name, stages[name])
    assert stages["cache-missing read"]["us"]["serialization"] > 0
    assert "Per-stage costs" in stdout and "| ws_security |" in stdout
    essential = result["essential"]
    assert essential["baseline_ms"] > 0 and essential["server_batch_ms"] > 0
    assert essential["single_report_per_s"] > 0 and essential["missing_read_ms"] > 0
    assert result["client_report"]["library_obs_per_s"] > 0
    assert result["client_report"]["cli_obs_per_s"] > 0
    targets = {row["target"]: row for row in result["targets"]}
    # The names as the sections declare them (each section's targets() with no result).
    names = [row[0] for row in essential_section.targets(None)
             + client_report_section.targets(None)]
    assert len(names) == 5
    for name in names:
        assert targets[name]["verdict"] in ("pass", "FAIL"), targets[name]


def test_wrong_answers_are_caught(tmp_path: Path) -> None:
    # C sent digests made with the wrong password: every call is refused with a fault, and
    # the benchmark must say so (exit 1) rather than report the refusals as throughput.
    done = subprocess.run(
        [sys.executable, "-c",
         "import functools, sys; from bench import run, variants, workload;"
         "variants.check_secured = lambda url: None;"
         "workload.digest_request = functools.partial(workload.digest_request,"
         " password='not-the-password');"
         "sys.exit(run.main(['--smoke', '--variants', 'C', '--no-client', '--no-stages',"
         " '--no-essential', '--out', sys.argv[1]]))",
         str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads((tmp_path / "latest.json").read_text())
    assert result["all_correct"] is False
    assert all(not run["correct"] and run["faults"] > 0 for run in result["runs"])


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True

