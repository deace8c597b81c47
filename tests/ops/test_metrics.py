"""Prometheus metrics on their own listener, after a known sequence of calls."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.ops.ops_helpers import (
    add_account,
    metrics_url,
    password_text_header,
    scrape,
    value,
)
from tests.ratelimit.redis_proc import free_port
from tests.soap_helpers import envelope, request, travel_times_body


def test_counters_after_known_calls(server_factory) -> None:
    server = server_factory("--no-require-auth", "--metrics-port", "0")
    for _ in range(2):
        assert request(server.url, envelope("<t:ListHighways/>")).status == 200
    assert request(server.url, envelope(travel_times_body("192"))).status == 200
    request(server.url, envelope(travel_times_body("9999")))  # Client.UnknownHighway
    request(server.url, envelope(travel_times_body("NOT-AN-ID")))  # schema fault
    request(server.url, b"this is not xml")  # refused before any operation is known

    m = scrape(server)
    assert value(m, "highway_requests_total", operation="ListHighways", outcome="ok") == 2
    assert value(m, "highway_requests_total", operation="GetTravelTimes", outcome="ok") == 1
    assert value(m, "highway_requests_total", operation="GetTravelTimes",
                 outcome="client_fault") == 2
    assert value(m, "highway_requests_total", operation="none", outcome="client_fault") == 1
    assert value(m, "highway_faults_total", operation="GetTravelTimes",
                 code="soap:Client.UnknownHighway") == 1
    assert value(m, "highway_faults_total", operation="GetTravelTimes",
                 code="soap:Client.SchemaValidation") == 1
    assert value(m, "highway_faults_total", operation="none",
                 code="soap:Client.XMLSyntaxError") == 1
    assert value(m, "highway_request_duration_seconds_count", operation="ListHighways") == 2
    assert value(m, "highway_request_duration_seconds_bucket", operation="ListHighways",
                 le="+Inf") == 2
    assert value(m, "highway_in_flight_requests") == 0
    assert value(m, "highway_redis_configured") == 0
    assert value(m, "highway_build_info", version="1.0.0") == 1
    # GET routes (the page, health) are not SOAP requests and are not counted.
    request(server.url, None, method="GET", path="/healthz")
    assert sum(v for (name, _), v in scrape(server).items()
               if name == "highway_requests_total") == 6


def test_metrics_listener_is_separate(server_factory) -> None:
    server = server_factory("--no-require-auth", "--metrics-port", "0")
    url = metrics_url(server)
    assert str(server.port) not in url.split("//", 1)[1].split("/")[0]
    assert request(server.url, None, method="GET", path="/metrics").status == 404
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=10)
    assert info.value.code == 404


def test_no_metrics_listener_by_default(open_server) -> None:
    assert "metrics at" not in open_server.log_text()


def test_rate_limit_refusals_by_scope(server_factory) -> None:
    server = server_factory("--no-require-auth", "--metrics-port", "0",
                            "--ip-rate-limit", "2/minute")
    statuses = [request(server.url, envelope("<t:ListHighways/>")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    m = scrape(server)
    assert value(m, "highway_rate_limit_refusals_total", scope="ip") == 1
    assert value(m, "highway_faults_total", operation="none",
                 code="soap:Client.RateLimited") == 1


def test_auth_failures_and_replays(server_factory, tmp_path) -> None:
    db = tmp_path / "auth.db"
    add_account(db, "alice", "reader", "alice-secret-1")
    server = server_factory("--metrics-port", "0", db=db)
    body = "<t:ListHighways/>"
    assert request(server.url, envelope(body)).status == 500  # no credentials at all
    wrong = password_text_header("alice", "not-her-password", b"n" * 16)
    assert request(server.url, envelope(body, wrong)).fault()[0] == "wsse:FailedAuthentication"
    good = password_text_header("alice", "alice-secret-1", b"r" * 16)
    assert request(server.url, envelope(body, good)).status == 200
    assert request(server.url, envelope(body, good)).fault()[0] == "wsse:InvalidSecurity"

    m = scrape(server)
    assert value(m, "highway_auth_failures_total", code="wsse:InvalidSecurity",
                 reason="missing_credentials") == 1
    assert value(m, "highway_auth_failures_total", code="wsse:FailedAuthentication",
                 reason="bad_credentials") == 1
    assert value(m, "highway_auth_failures_total", code="wsse:InvalidSecurity",
                 reason="replay") == 1
    assert value(m, "highway_replays_detected_total") == 1
    assert value(m, "highway_requests_total", operation="ListHighways", outcome="ok") == 1


def test_redis_fallback_state(server_factory) -> None:
    closed = free_port()
    server = server_factory("--no-require-auth", "--metrics-port", "0",
                            "--state-url", f"redis://127.0.0.1:{closed}/0")
    assert request(server.url, envelope("<t:ListHighways/>")).status == 200  # memory fallback
    m = scrape(server)
    assert value(m, "highway_redis_configured") == 1
    assert value(m, "highway_redis_available") == 0
    assert value(m, "highway_redis_fallbacks_total") == 1
    assert value(m, "highway_redis_failures_total") >= 1


def test_metrics_port_in_use_is_a_configuration_error(server_factory) -> None:
    first = server_factory("--no-require-auth", "--metrics-port", "0")
    taken = metrics_url(first).rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(RuntimeError) as info:
        server_factory("--no-require-auth", "--metrics-port", taken)
    assert "exited with 2" in str(info.value)
    assert "--metrics-port" in str(info.value)
