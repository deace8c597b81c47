"""Issue 14: a large network imported with `highway-server network import` (2,000 highways,
one direction with 1,000 segments), served by a running server after a live reload: every
answer of every operation validates against the contract's schema, and the bundled client
and CLI work on it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import HighwayClient
from soap_service.store.network_csv import CSV_HEADER
from tests.conftest import ROOT, RunningServer, start_server
from tests.contract.test_contract_bounds import assert_valid_answer
from tests.soap_helpers import TNS, envelope, request, travel_times_body
from tests.store.test_network_live import import_network, wait_until

HIGHWAYS = 2000
LONG = 1000  # segments of highway 1 EB


def large_network(path: Path) -> Path:
    """Highway 1: EB with LONG segments, WB with 3; highways 2..HIGHWAYS: 1 or 2 directions."""
    lines = [CSV_HEADER]
    lines += [f"1,Highway 1 (long),EB,{n},1-EB-{n:04d},Exit {n},Exit {n + 1},0.8,110"
              for n in range(1, LONG + 1)]
    lines += [f"1,Highway 1 (long),WB,{n},1-WB-{n},Exit {n + 1},Exit {n},0.8,110"
              for n in range(1, 4)]
    for hid in range(2, HIGHWAYS + 1):
        directions = ("NB", "SB") if hid % 2 else ("EB",)
        for direction in directions:
            lines += [f"{hid},\"Route {hid}, the {directions[0]} way\",{direction},{n},"
                      f"{hid}-{direction}-{n},Stop {n},Stop {n + 1},{1.25 * n},{60 + hid % 50}"
                      for n in (1, 2)]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server started on the sample network, then given the large one while it runs."""
    work = tmp_path_factory.mktemp("large-import")
    db = work / "large.db"
    # Every highway is read: the per-IP limit would refuse that from one test client.
    server = start_server(work, "--no-require-auth", "--network-check-seconds", "0.5",
                          "--ip-rate-limit", "unlimited", "--rate-limit", "*=unlimited", db=db,
                          startup_timeout=60)
    try:
        import_network(str(db), large_network(work / "large.csv"))
        wait_until(lambda: "serving network version 2" in server.log_text(), timeout=60)
        yield server
    finally:
        server.stop()


def soap(server: RunningServer, body: str) -> bytes:
    return request(server.url, envelope(body), timeout=60).body


def test_every_answer_validates_against_the_contract(large: RunningServer) -> None:
    listed = assert_valid_answer(soap(large, "<t:ListHighways/>"))
    assert len(listed) == HIGHWAYS
    first = listed[0]
    assert first.findtext(f"{{{TNS}}}segmentCount") == str(LONG + 3)
    # GetTravelTimes of every highway (all directions), and each direction of highway 1.
    for hid in range(1, HIGHWAYS + 1):
        answer = assert_valid_answer(soap(large, travel_times_body(str(hid))))
        expected = 2 if hid == 1 or hid % 2 else 1
        assert len(answer) == expected, hid
    eb = assert_valid_answer(soap(large, travel_times_body("1", "EB")))
    assert len(eb[0].findall(f"{{{TNS}}}segment")) == LONG
    assert_valid_answer(soap(large, travel_times_body("1", "WB")))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    items = "".join(
        f"<t:observation><t:sensorId>s{n}</t:sensorId><t:segmentId>1-EB-{n:04d}"
        f"</t:segmentId><t:observedAt>{now}</t:observedAt><t:speedKph>55</t:speedKph>"
        "</t:observation>" for n in range(1, LONG + 1))
    report = assert_valid_answer(soap(large, f"<t:ReportObservations>{items}"
                                             "</t:ReportObservations>"))
    assert report.findtext(f"{{{TNS}}}accepted") == str(LONG)
    fresh = assert_valid_answer(soap(large, travel_times_body("1", "EB")))
    assert len(fresh.findall(f".//{{{TNS}}}observedAt")) == LONG
    # Faults validate too: a highway, a direction and a segment the network does not have,
    # including a sample segment the import retired (the large network has 192-EB-1).
    for body, code in [
        (travel_times_body("2001"), "Client.UnknownHighway"),
        (travel_times_body("2", "NB"), "Client.UnknownDirection"),
        ("<t:ReportObservations><t:observation><t:sensorId>s</t:sensorId><t:segmentId>"
         f"192-EB-01</t:segmentId><t:observedAt>{now}</t:observedAt><t:speedKph>1</t:speedKph>"
         "</t:observation></t:ReportObservations>", "Client.UnknownSegment"),
    ]:
        detail = assert_valid_answer(soap(large, body))
        assert detail.findtext(f"{{{TNS}}}code") == code


def test_the_bundled_client_and_cli_work_on_it(large: RunningServer) -> None:
    with HighwayClient(url=large.url, timeout=60) as client:
        highways = client.list_highways()
        assert len(highways) == HIGHWAYS
        assert highways[1].name == "Route 2, the EB way" and highways[1].directions == ("EB",)
        (eb,) = client.travel_times("1", "EB")
        assert len(eb.segments) == LONG
    done = subprocess.run([sys.executable, "-m", "client", "--url", large.url, "--json",
                           "highways"], capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"id"') == HIGHWAYS


def test_the_large_network_exports_as_imported(large: RunningServer, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    done = subprocess.run([sys.executable, "-m", "soap_service", "network", "export", str(out),
                           "--db", str(large.db_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    source = large.db_path.parent / "large.csv"
    assert out.read_bytes() == source.read_bytes()
