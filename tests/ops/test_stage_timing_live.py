"""--stage-timing on a real server: each kind of request shows up in every stage it passes,
and without the flag no stage metrics exist."""

from __future__ import annotations

import os
from pathlib import Path

from soap_service.core import stage_timing as st
from tests.ops.ops_helpers import add_account, password_text_header, scrape, value
from tests.soap_helpers import envelope, report_body, request, travel_times_body

# Every SOAP request passes these; reads and batches add what the operation needs.
ALWAYS = {st.FRONT_DOOR, st.RATE_LIMIT, st.PARSE, st.SCHEMA, st.WS_SECURITY, st.AUTHORIZATION,
          st.OPERATION, st.OBSERVERS}


def _signed(body: str) -> bytes:
    return envelope(body, password_text_header("olga", "olga-secret-1", os.urandom(16)))


def _stages(samples: dict, operation: str) -> set[str]:
    return {dict(labels)["stage"] for (name, labels), v in samples.items()
            if name == "highway_stage_seconds_total" and dict(labels)["operation"] == operation
            and v > 0}


def test_every_kind_of_request_is_timed_in_its_stages(tmp_path: Path, server_factory) -> None:
    db = tmp_path / "timed.db"
    add_account(db, "olga", "operator", "olga-secret-1")
    server = server_factory("--metrics-port", "0", "--stage-timing", db=db)
    read = _signed(travel_times_body("192", "EB"))
    assert request(server.url, read).status == 200  # cache miss: store and Spyne
    assert request(server.url, _signed(travel_times_body("192", "EB"))).status == 200  # cached
    assert request(server.url, _signed("<t:ListHighways/>")).status == 200
    assert request(server.url, _signed(report_body("live-1", 1))).status == 200
    assert request(server.url, _signed(report_body("live-500", 500))).status == 200  # large
    assert request(server.url, envelope(travel_times_body("192"))).status == 500  # no token
    # (timed as a GetTravelTimes refused by WS-Security: counted, its partial time in no stage)

    m = scrape(server)
    assert value(m, "highway_stage_requests_total", operation="GetTravelTimes") == 3
    assert value(m, "highway_stage_requests_total", operation="ListHighways") == 1
    assert value(m, "highway_stage_requests_total", operation="ReportObservations") == 2
    assert _stages(m, "GetTravelTimes") == ALWAYS | {st.STORE, st.SERIALIZATION}
    assert _stages(m, "ListHighways") == ALWAYS | {st.STORE, st.SERIALIZATION}
    assert _stages(m, "ReportObservations") == ALWAYS | {st.STORE, st.SERIALIZATION}


def test_without_the_flag_no_stage_metrics_appear(server_factory) -> None:
    server = server_factory("--no-require-auth", "--metrics-port", "0")
    assert request(server.url, envelope(travel_times_body("192", "EB"))).status == 200
    names = {name for name, _ in scrape(server)}
    assert "highway_requests_total" in names
    assert not {n for n in names if n.startswith("highway_stage_")}
