"""The real server, driven by the real client and by raw HTTP posts."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sqlite3

import pytest
from lxml import etree

from client import HighwayClient, Observation, UnknownHighwayError, ValidationError
from tests.conftest import RunningServer
from tests.soap_helpers import envelope, request, travel_times_body

CHECKED_IN_ADDRESS = "http://localhost:8080/soap"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def client(open_server: RunningServer) -> HighwayClient:
    with HighwayClient(url=open_server.url, timeout=10) as c:
        yield c


def test_list_highways(client: HighwayClient) -> None:
    highways = {h.id: h for h in client.list_highways()}
    assert {"192", "217", "225"} <= set(highways)
    assert highways["192"].directions == ("EB", "WB")
    assert highways["192"].segment_count == 12
    assert highways["192"].length_km == pytest.approx(31.0)


def test_travel_times_for_all_directions_and_one(client: HighwayClient) -> None:
    both = client.travel_times("Highway 192")
    assert [tt.direction for tt in both] == ["EB", "WB"]
    (eb,) = client.travel_times("192", direction="eb")
    assert eb.highway == "192"
    assert eb.segments[0].from_name == "Four Corners (US 27)"
    assert all(s.stale for s in eb.segments)
    assert eb.total_minutes == pytest.approx(eb.free_flow_minutes)
    assert abs((now() - eb.as_of).total_seconds()) < 60


def test_observations_change_travel_times(client: HighwayClient) -> None:
    at = now()
    batch = [
        Observation(f"loop-{i}", "217-NB-03", at - dt.timedelta(seconds=i), 30.0) for i in range(3)
    ]
    assert client.report_observations(batch).accepted == 3
    (nb,) = client.travel_times("217", "NB")
    third = nb.segments[2]
    assert third.segment_id == "217-NB-03"
    assert (third.speed_kph, third.congestion, third.stale) == (30.0, "HEAVY", False)
    assert third.observed_at == at
    assert nb.total_minutes > nb.free_flow_minutes


def test_batches_are_idempotent(client: HighwayClient) -> None:
    batch = [Observation("s-1", "225-SB-01", now() - dt.timedelta(seconds=i), 80) for i in range(5)]
    first = client.report_observations(batch)
    retried = client.report_observations(batch)
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (retried.accepted, retried.duplicates) == (0, 5)


def test_a_batch_with_one_bad_item_stores_nothing(
    client: HighwayClient, open_server: RunningServer
) -> None:
    batch = [Observation(f"s-{i}", "192-WB-01", now(), 50) for i in range(5)]
    batch[2] = Observation("s-2", "192-XX-99", now(), 50)
    with pytest.raises(UnknownHighwayError) as info:
        client.report_observations(batch)
    assert info.value.code == "Client.UnknownSegment"
    assert info.value.detail["observationIndex"] == "3"
    assert "observation 3" in info.value.message
    with sqlite3.connect(open_server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 0


def test_future_observation_is_out_of_range(client: HighwayClient) -> None:
    with pytest.raises(ValidationError) as info:
        client.report_observations(
            [Observation("s", "192-WB-01", now() + dt.timedelta(hours=1), 5)]
        )
    assert info.value.code == "Client.ValueOutOfRange"


def test_unknown_highway_and_direction_faults(client: HighwayClient) -> None:
    with pytest.raises(UnknownHighwayError) as info:
        client.travel_times("9999")
    assert (info.value.code, info.value.http_status) == ("Client.UnknownHighway", 500)
    assert info.value.correlation_id
    with pytest.raises(UnknownHighwayError) as info:
        client.travel_times("192", "NB")
    assert info.value.code == "Client.UnknownDirection"


def test_schema_fault_names_the_failing_element(open_server: RunningServer) -> None:
    answer = request(open_server.url, envelope(travel_times_body("ASDFGHJ")))
    code, message = answer.fault()
    assert answer.status == 500
    assert code == "soap:Client.SchemaValidation"
    assert "'highway'" in message
    assert answer.fault_detail()["correlationId"] == answer.headers["x-correlation-id"]


@pytest.mark.parametrize(
    "body",
    [
        "<t:GetTravelTimes><t:highway>192</t:highway><t:direction>UP</t:direction></t:GetTravelTimes>",
        "<t:GetTravelTimes/>",
        "<t:GetTravelTimes><t:highway>192</t:highway><t:extra>1</t:extra></t:GetTravelTimes>",
        "<t:ReportObservations/>",
        "<t:ReportObservations><t:observation><t:sensorId>s</t:sensorId>"
        "<t:segmentId>192-EB-01</t:segmentId><t:observedAt>2026-01-01T00:00:00</t:observedAt>"
        "<t:speedKph>50</t:speedKph></t:observation></t:ReportObservations>",
        "<t:ReportObservations><t:observation><t:sensorId>s</t:sensorId>"
        "<t:segmentId>192-EB-01</t:segmentId><t:observedAt>2026-01-01T00:00:00Z</t:observedAt>"
        "<t:speedKph>301</t:speedKph></t:observation></t:ReportObservations>",
    ],
    ids=[
        "bad-direction",
        "missing-highway",
        "extra-element",
        "empty-batch",
        "no-timezone",
        "speed-too-high",
    ],
)
def test_schema_violations_are_client_faults(open_server: RunningServer, body: str) -> None:
    answer = request(open_server.url, envelope(body))
    assert answer.status == 500
    assert answer.fault()[0] == "soap:Client.SchemaValidation"


def test_unknown_operation(open_server: RunningServer) -> None:
    answer = request(open_server.url, envelope("<t:DeleteEverything/>"))
    assert answer.fault()[0] == "soap:Client.UnknownOperation"


def test_served_wsdl_is_the_checked_in_one_with_our_address(open_server: RunningServer) -> None:
    forged = request(
        open_server.url, None, method="GET", path="/soap?wsdl", headers={"Host": "evil.example.com"}
    )
    assert forged.status == 200
    served = etree.fromstring(forged.body)
    address = served.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == open_server.url
    address.set("location", CHECKED_IN_ADDRESS)
    with open("wsdl/highway-traffic.wsdl", "rb") as handle:
        checked_in = etree.fromstring(handle.read())
    assert etree.tostring(served, method="c14n") == etree.tostring(checked_in, method="c14n")
    xsd = request(open_server.url, None, method="GET", path="/soap?xsd")
    etree.XMLSchema(etree.fromstring(xsd.body))


def test_public_url_is_advertised(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--no-require-auth", "--public-url", "https://traffic.example.com/soap")
    served = request(server.url, None, method="GET", path="/soap?wsdl").body
    assert b'location="https://traffic.example.com/soap"' in served


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/nope", None, 404),
        ("PUT", "/soap", b"<x/>", 405),
        ("DELETE", "/healthz", None, 405),
        ("POST", "/soap", b"this is not xml", 500),
        ("POST", "/soap", b"", 500),
        ("POST", "/soap", b"<a><b></a>", 500),
        ("POST", "/soap", b"<notsoap/>", 500),
        ("GET", "/soap", None, 405),
    ],
)
def test_no_html_error_page_for_bad_requests(
    open_server: RunningServer, method: str, path: str, body: bytes | None, status: int
) -> None:
    answer = request(open_server.url, body, method=method, path=path)
    assert answer.status == status
    assert answer.headers["content-type"].startswith("text/xml")
    code, _ = answer.fault()
    assert code.startswith("soap:")
    # ... and the server keeps serving.
    assert request(open_server.url, envelope(travel_times_body("192"))).status == 200


def test_health_and_readiness(open_server: RunningServer) -> None:
    assert request(open_server.url, None, method="GET", path="/healthz").status == 200
    ready = request(open_server.url, None, method="GET", path="/readyz")
    assert ready.status == 200 and b'"database": "ok"' in ready.body


def test_access_log_has_one_line_per_request_without_envelopes(open_server: RunningServer) -> None:
    request(open_server.url, envelope(travel_times_body("9999")))
    log = open_server.log_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    lines = [r for r in records if r.get("operation") == "GetTravelTimes"]
    assert len(lines) == 1
    assert lines[0]["outcome"] == "client_fault"
    assert lines[0]["fault_code"] == "soap:Client.UnknownHighway"
    assert lines[0]["duration_ms"] >= 0
    assert "Envelope" not in log


def test_sigterm_exits_cleanly_and_acknowledged_writes_survive(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--no-require-auth")
    with HighwayClient(url=server.url) as c:
        c.report_observations([Observation("keep", "192-EB-02", now(), 12.5)])
    assert server.stop(signal.SIGTERM) == 0
    restarted = server_factory("--no-require-auth", db=server.db_path)
    with HighwayClient(url=restarted.url) as c:
        (eb,) = c.travel_times("192", "EB")
    assert eb.segments[1].speed_kph == 12.5


def _batch_body(count: int, sensor: str) -> str:
    at = now().isoformat().replace("+00:00", "Z")
    items = "".join(
        f"<t:observation><t:sensorId>{sensor}-{i}</t:sensorId><t:segmentId>225-NB-02"
        f"</t:segmentId><t:observedAt>{at}</t:observedAt><t:speedKph>61.5</t:speedKph>"
        "</t:observation>"
        for i in range(count)
    )
    return f"<t:ReportObservations>{items}</t:ReportObservations>"


def test_request_in_flight_at_sigterm_is_answered_and_stored(server_factory) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    server = server_factory("--no-require-auth")
    answers: list[object] = []
    body = envelope(_batch_body(1000, "drain"))
    worker = threading.Thread(target=lambda: answers.append(request(server.url, body)))
    worker.start()
    time.sleep(0.03)  # the full batch is on the wire; the server is parsing or storing it
    server.process.send_signal(signal.SIGTERM)
    worker.join(30)
    assert server.process.wait(30) == 0
    (answer,) = answers
    assert answer.status == 200, answer.body[:300]
    assert b"<tns:accepted>1000</tns:accepted>" in answer.body
    with sqlite3.connect(server.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] == 1000


def test_unexpected_error_becomes_a_generic_server_fault(open_server: RunningServer) -> None:
    # Make the store fail for real: a trigger that aborts every insert, added from outside.
    with sqlite3.connect(open_server.db_path) as db:
        db.execute(
            "CREATE TRIGGER refuse_all BEFORE INSERT ON observations "
            "BEGIN SELECT RAISE(ABORT, 'internal detail xyzzy'); END"
        )
    answer = request(open_server.url, envelope(_batch_body(2, "boom")))
    code, message = answer.fault()
    assert (answer.status, code) == (500, "soap:Server")
    assert "xyzzy" not in answer.body.decode() and "Traceback" not in answer.body.decode()
    correlation_id = answer.fault_detail()["correlationId"]
    log = open_server.log_text()
    assert correlation_id in log and "xyzzy" in log  # the detail goes to the server log only
    assert request(open_server.url, envelope(travel_times_body("192"))).status == 200
