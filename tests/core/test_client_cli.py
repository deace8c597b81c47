"""`highway-client` against the real server: output, JSON and exit codes."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, RunningServer


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        input=stdin,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def test_highways_table(open_server: RunningServer) -> None:
    result = cli("--url", open_server.url, "highways")
    assert result.returncode == 0, result.stderr
    assert "US 192 (Irlo Bronson Memorial Highway)" in result.stdout
    assert "EB/WB" in result.stdout


def test_travel_times_json(open_server: RunningServer) -> None:
    result = cli(
        "--url", open_server.url, "--json", "travel-times", "Highway 225", "--direction", "NB"
    )
    assert result.returncode == 0, result.stderr
    (nb,) = json.loads(result.stdout)
    assert nb["highway"] == "225" and nb["direction"] == "NB"
    assert nb["segments"][0]["segment_id"] == "225-NB-01"


def test_report_csv_then_duplicates(open_server: RunningServer, tmp_path: Path) -> None:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    csv_file = tmp_path / "obs.csv"
    csv_file.write_text(
        f"sensor_id,segment_id,observed_at,speed_kph\na,192-WB-01,{at},40\nb,192-WB-02,{at},55.5\n"
    )
    first = cli("--url", open_server.url, "report", str(csv_file))
    again = cli("--url", open_server.url, "--json", "report", str(csv_file))
    assert first.returncode == 0, first.stderr
    assert "accepted 2" in first.stdout
    summary = json.loads(again.stdout)
    assert (summary["accepted"], summary["duplicates"], summary["rows"]) == (0, 2, 2)


def test_fault_exit_code_3(open_server: RunningServer) -> None:
    result = cli("--url", open_server.url, "travel-times", "9999")
    assert result.returncode == 3
    assert "Client.UnknownHighway" in result.stderr


def test_unreachable_exit_code_4() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("--url", f"http://127.0.0.1:{port}/soap", "--timeout", "2", "highways")
    assert result.returncode == 4
    assert "cannot reach" in result.stderr


def test_usage_errors_exit_code_2(open_server: RunningServer, tmp_path: Path) -> None:
    assert cli("travel-times").returncode == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("sensor_id,segment_id,observed_at,speed_kph\na,192-WB-01,yesterday,40\n")
    result = cli("--url", open_server.url, "report", str(bad))
    assert result.returncode == 2
    assert "line 2" in result.stderr


def test_usage_errors_say_what_to_do(open_server: RunningServer) -> None:
    version = cli("--version")
    assert version.returncode == 0 and "highway-client" in version.stdout
    for bad in ("0", "-1"):
        assert cli("--timeout", bad, "highways").returncode == 2
    no_scheme = cli("--url", "127.0.0.1:8080/soap", "highways")
    assert no_scheme.returncode == 2 and "http://" in no_scheme.stderr
    after = cli("highways", "--url", open_server.url, "--timeout", "5")
    assert after.returncode == 0, after.stderr


def test_report_lists_every_problem_in_one_pass_grouped(
    open_server: RunningServer, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    old = (now - dt.timedelta(days=9)).isoformat().replace("+00:00", "Z")
    future = (now + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    ok = now.isoformat().replace("+00:00", "Z")
    lines = ["sensor_id,segment_id,observed_at,speed_kph", f"a,192-WB-01,{ok},fast"]
    lines += [f"s{i},192-WB-01,{old},40" for i in range(20)]  # lines 3-22
    lines += [f"x,NOPE-1,{ok},40", f"y,192-WB-01,{future},40"]  # lines 23, 24
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = cli("--url", open_server.url, "report", str(bad))
    assert result.returncode == 2
    err = result.stderr
    assert "line 2:" in err and "lines 3-22: observed_at is older than 7 days" in err
    assert "line 23: unknown segment 'NOPE-1'" in err and "line 24:" in err and "future" in err
    assert err.count("older than 7 days") == 1
