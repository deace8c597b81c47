"""Issue 14: `highway-client report` costs one call per batch, whatever the network's size: a
one-row upload on a 100-highway network is one ReportObservations in the server's access log
(no ListHighways, no GetTravelTimes per highway)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from client.cli import main
from soap_service.store.network_csv import CSV_HEADER
from tests.conftest import RunningServer, start_server
from tests.store.test_network_live import import_network


def hundred_highways(path: Path) -> Path:
    """Highways 1..100, one direction of two segments each."""
    lines = [CSV_HEADER]
    for hid in range(1, 101):
        lines += [f"{hid},Route {hid},EB,{n},{hid}-EB-{n},Stop {n},Stop {n + 1},1.5,90"
                  for n in (1, 2)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def operations(server: RunningServer) -> list[str]:
    """The operation of every SOAP request in the server's JSON access log."""
    records = [json.loads(line) for line in server.log_text().splitlines()
               if line.startswith("{")]
    return [str(r.get("operation")) for r in records
            if r.get("event") == "request" and r.get("path") == "/soap"]


def test_a_one_row_upload_is_one_call(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "hundred.db"
    import_network(str(db), hundred_highways(tmp_path / "net.csv"))
    server = start_server(tmp_path, "--no-require-auth", db=db)
    try:
        at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        csv_file = tmp_path / "one.csv"
        csv_file.write_text("sensor_id,segment_id,observed_at,speed_kph\n"
                            f"s-1,77-EB-2,{at:%Y-%m-%dT%H:%M:%SZ},61.5\n")
        assert main(["--url", server.url, "--json", "report", str(csv_file)]) == 0
        assert json.loads(capsys.readouterr().out)["accepted"] == 1
        assert operations(server) == ["ReportObservations"]

        # A local problem is still found before anything is sent: no call at all.
        bad = tmp_path / "bad.csv"
        bad.write_text("sensor_id,segment_id,observed_at,speed_kph\n"
                       f"s-1,77-EB-2,{at:%Y-%m-%dT%H:%M:%S},61.5\n")
        assert main(["--url", server.url, "report", str(bad)]) == 2
        assert "line 2" in capsys.readouterr().err
        assert operations(server) == ["ReportObservations"]
    finally:
        server.stop()
