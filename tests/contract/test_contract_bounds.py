"""Issue 14: the contract's bounds fit real networks, and the server never serves beyond them.

A generated network at the contract's limits (every highway the contract allows, one direction
with the most segments it allows) is written straight into a test database; a real server then
answers every operation, and every answer validates against the contract's own schema. A
network one step beyond any limit is refused at start, with the limit named.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from lxml import etree

from client import HighwayClient
from soap_service.contract import contract
from soap_service.contract.limits import (
    NetworkOutsideContract,
    check_network,
    contract_limits,
    network_problems,
)
from soap_service.domain import Direction, Highway, Segment
from soap_service.store import database
from tests.conftest import ROOT, RunningServer
from tests.soap_helpers import SOAP11, TNS, envelope, request, travel_times_body

LIMITS = contract_limits()
BIG = "1"  # the highway whose EB direction has the most segments the contract allows
# (id, name, {direction: segment count}); segments named after their highway and position.
NetworkSpec = list[tuple[str, str, dict[str, int]]]


def generated_network(highways: int, big_segments: int) -> NetworkSpec:
    """`highways` highways: highway 1 with `big_segments` EB (and 1000 WB), others 2 each way."""
    spec: NetworkSpec = [(BIG, "Highway 1 (long)", {"EB": big_segments, "WB": 1000})]
    spec += [(str(n), f"Highway {n}", {"NB": 2, "SB": 2}) for n in range(2, highways + 1)]
    return spec


def write_network(db: Path, spec: NetworkSpec, *, name_length: int = 10) -> None:
    """Write highways and segments directly into a migrated database."""
    conn = database.connect(str(db))
    segments = []
    for highway_id, _, directions in spec:
        for direction, count in directions.items():
            for position in range(1, count + 1):
                place = f"Exit {position}".ljust(name_length, "x")
                segments.append((f"{highway_id}-{direction}-{position:04d}", highway_id,
                                 direction, position, place, f"Exit {position + 1}", 1.5, 100.0))
    with conn:
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO highways (id, name) VALUES (?, ?)",
                         [(hid, name) for hid, name, _ in spec])
        conn.executemany(
            "INSERT INTO segments (id, highway_id, direction, position, from_name, to_name,"
            " length_km, free_flow_kph) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", segments)
    conn.close()


def body_child(response_body: bytes) -> etree._Element:
    """The single element inside soap:Body."""
    root = etree.fromstring(response_body)
    body = root.find(f"{{{SOAP11}}}Body")
    assert body is not None and len(body) == 1, response_body[:300]
    return body[0]


def assert_valid_answer(response_body: bytes) -> etree._Element:
    """The Body's answer (or the fault's ServiceFault detail) validates against the contract."""
    schema = contract.validation_schema()
    child = body_child(response_body)
    if child.tag == f"{{{SOAP11}}}Fault":
        detail = child.find("detail")
        assert detail is not None and len(detail) == 1, response_body[:500]
        child = detail[0]
    standalone = etree.fromstring(etree.tostring(child))
    assert schema.validate(standalone), schema.error_log.last_error
    return standalone


@pytest.fixture(scope="module")
def large_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server on a network at the contract's limits (authentication off: shapes only)."""
    from tests.conftest import start_server

    work = tmp_path_factory.mktemp("large")
    db = work / "large.db"
    write_network(db, generated_network(LIMITS.max_highways, LIMITS.max_segments_per_direction))
    server = start_server(work, "--no-require-auth", db=db, startup_timeout=120)
    yield server
    server.stop()


def soap(server: RunningServer, body: str) -> bytes:
    """POST one request and return the answer's bytes (any status)."""
    return request(server.url, envelope(body), timeout=120).body


def test_the_contract_describes_real_networks() -> None:
    """At least 2,000 highways and 1,000 segments per direction (issue 14)."""
    assert LIMITS.max_highways >= 2000
    assert LIMITS.max_segments_per_direction >= 1000
    assert LIMITS.max_directions == len(Direction)


def test_every_answer_on_a_network_at_the_limits_validates(large_server: RunningServer) -> None:
    """ListHighways, GetTravelTimes (all and one direction), ReportObservations and faults."""
    listed = assert_valid_answer(soap(large_server, "<t:ListHighways/>"))
    assert len(listed) == LIMITS.max_highways
    whole = assert_valid_answer(soap(large_server, travel_times_body(BIG)))
    counts = [len(tt.findall(f"{{{TNS}}}segment")) for tt in whole]
    assert counts == [LIMITS.max_segments_per_direction, 1000]
    for direction in ("EB", "WB"):
        assert_valid_answer(soap(large_server, travel_times_body(BIG, direction)))
    for highway in ("2", str(LIMITS.max_highways // 2), str(LIMITS.max_highways)):
        assert len(assert_valid_answer(soap(large_server, travel_times_body(highway)))) == 2
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    items = "".join(
        f"<t:observation><t:sensorId>s{n}</t:sensorId><t:segmentId>{BIG}-EB-{n:04d}"
        f"</t:segmentId><t:observedAt>{now}</t:observedAt><t:speedKph>55</t:speedKph>"
        "</t:observation>" for n in range(1, 1001))
    report = assert_valid_answer(soap(large_server, f"<t:ReportObservations>{items}"
                                                    "</t:ReportObservations>"))
    assert report.findtext(f"{{{TNS}}}accepted") == "1000"
    fresh = assert_valid_answer(soap(large_server, travel_times_body(BIG, "EB")))
    assert fresh.find(f".//{{{TNS}}}observedAt") is not None
    for body, code in [
        (travel_times_body("9999"), "Client.UnknownHighway"),
        (travel_times_body(BIG, "NB"), "Client.UnknownDirection"),
        ("<t:ReportObservations><t:observation><t:sensorId>s</t:sensorId><t:segmentId>nope"
         f"</t:segmentId><t:observedAt>{now}</t:observedAt><t:speedKph>1</t:speedKph>"
         "</t:observation></t:ReportObservations>", "Client.UnknownSegment"),
    ]:
        detail = assert_valid_answer(soap(large_server, body))
        assert detail.findtext(f"{{{TNS}}}code") == code


def test_the_bundled_client_works_on_the_large_network(large_server: RunningServer) -> None:
    """list_highways and travel_times through zeep's strict contract (issue 14: ProtocolError)."""
    with HighwayClient(url=large_server.url, timeout=120) as client:
        highways = client.list_highways()
        assert len(highways) == LIMITS.max_highways
        times = client.travel_times(BIG)
        assert [len(t.segments) for t in times] == [LIMITS.max_segments_per_direction, 1000]


def test_the_cli_works_on_the_large_network(large_server: RunningServer) -> None:
    """`highway-client highways` lists every highway (exit 0)."""
    done = subprocess.run([sys.executable, "-m", "client", "--url", large_server.url,
                           "--json", "highways"], capture_output=True, text=True, timeout=180,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count('"id"') == LIMITS.max_highways


def start_refused(tmp_path: Path, spec: NetworkSpec, **kwargs: int) -> str:
    """Start a server on a network beyond the contract; return its stderr (it must exit 2)."""
    db = tmp_path / "too-big.db"
    write_network(db, spec, **kwargs)
    done = subprocess.run([sys.executable, "-m", "soap_service", "serve", "--host", "127.0.0.1",
                           "--port", "0", "--db", str(db), "--no-require-auth"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr


@pytest.mark.parametrize("what", ["highways", "segments", "names"])
def test_a_network_beyond_the_contract_is_refused_naming_the_limit(
    tmp_path: Path, what: str
) -> None:
    """One more highway, one more segment, or a name too long: the server does not start."""
    if what == "highways":
        stderr = start_refused(tmp_path, generated_network(LIMITS.max_highways + 1, 3))
        expected = f"at most {LIMITS.max_highways}"
    elif what == "segments":
        stderr = start_refused(tmp_path, generated_network(
            3, LIMITS.max_segments_per_direction + 1))
        expected = f"at most {LIMITS.max_segments_per_direction} per direction"
    else:
        limit = LIMITS.place_name.max_length
        assert limit is not None
        stderr = start_refused(tmp_path, generated_network(3, 3), name_length=limit + 1)
        expected = f"longer than {limit} characters (contract type PlaceName)"
    assert expected in stderr, stderr


def segment(seg_id: str, position: int = 1) -> Segment:
    """A segment of highway 5 EB."""
    return Segment(seg_id, "5", Direction.EB, position, "A", "B", 1.0, 100.0)


def test_limits_follow_the_schema_identifier_rules() -> None:
    """Identifier patterns and lengths come from the XSD's simpleTypes."""
    good = Highway("5", "Five", {Direction.EB: (segment("5-EB-01"),)})
    check_network([good])
    bad = [
        Highway("12345", "Too long id", {Direction.EB: (segment("5-EB-01"),)}),
        Highway("6", "", {Direction.EB: (segment("5-EB-01"),)}),
        Highway("7", "Bad segment", {Direction.EB: (segment("-starts-with-dash"),)}),
        Highway("8", "Long segment id", {Direction.EB: (segment("x" * 33),)}),
    ]
    problems = network_problems(bad)
    assert len(problems) == 4, problems
    assert "HighwayId" in problems[0] and "PlaceName" in problems[1]
    assert all("SegmentId" in p for p in problems[2:])
    with pytest.raises(NetworkOutsideContract, match="does not fit the service contract"):
        check_network(bad)


def test_limits_are_read_from_the_xsd(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing maxOccurs in the schema changes the limit (one fact, one place)."""
    original = contract.wsdl_bytes()
    changed = original.replace(b'name="segment" type="tns:SegmentTravelTime" maxOccurs="2000"',
                               b'name="segment" type="tns:SegmentTravelTime" maxOccurs="7"')
    assert changed != original
    contract_limits.cache_clear()
    monkeypatch.setattr(contract, "wsdl_bytes", lambda: changed)
    try:
        assert contract_limits().max_segments_per_direction == 7
    finally:
        monkeypatch.undo()
        contract_limits.cache_clear()
    assert contract_limits().max_segments_per_direction == 2000

