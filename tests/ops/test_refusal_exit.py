"""One exit for every answer: each refusal, at whichever layer it is made (the HTTP layer, the
connection caps, the resource's routing, the pipeline), is in the access log and the metrics."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.conftest import RunningServer
from tests.frontdoor import rawhttp
from tests.ops.ops_helpers import scrape, value
from tests.soap_helpers import envelope

Factory = Callable[..., RunningServer]
LIST = envelope("<t:ListHighways/>")


@pytest.fixture
def server(server_factory: Factory) -> RunningServer:
    return server_factory("--no-require-auth", "--metrics-port", "0", "--log-format", "json",
                          "--header-timeout", "1", "--max-body-bytes", "4096",
                          "--ip-rate-limit", "3/minute", "--max-connections-per-ip", "2",
                          "--refusal-log-burst", "1000")


def access_line(server: RunningServer, correlation_id: str) -> dict[str, object]:
    """The access-log line of one answer (polled: the log is written as the answer leaves)."""
    deadline = time.monotonic() + 10
    while True:
        for line in server.log_text().splitlines():
            if line.startswith("{") and correlation_id in line:
                record = json.loads(line)
                if record.get("event") == "request":
                    return record
        assert time.monotonic() < deadline, f"no access line for {correlation_id}"
        time.sleep(0.05)


# (what, bytes sent on a fresh connection, status, fault code)
REQUESTS: list[tuple[str, list[bytes | float], int, str]] = [
    ("malformed request line", [b"NOT AN HTTP REQUEST\r\n\r\n"], 400, "soap:Client.BadHTTPRequest"),
    ("unknown path", [rawhttp.post("/nope", LIST)], 404, "soap:Client.NotFound"),
    ("method", [b"PUT /soap HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"], 405,
     "soap:Client.MethodNotAllowed"),
    ("media type", [rawhttp.post("/soap", LIST, content_type="application/json")], 415,
     "soap:Client.UnsupportedMediaType"),
    ("body over the cap", [rawhttp.post("/soap", b"x" * 5000)], 413,
     "soap:Client.RequestTooLarge"),
    ("headers too slow", [b"POST /soap HTTP/1.1\r\n"], 408, "soap:Client.RequestTimeout"),
]


def test_every_refusal_is_logged_and_counted(server: RunningServer) -> None:
    seen: dict[str, int] = {}
    for what, parts, status, code in REQUESTS:
        answer = rawhttp.request(server.port, parts)
        assert answer is not None and (answer.status, answer.faultcode) == (status, code), what
        record = access_line(server, answer.headers["x-correlation-id"])
        assert (record["status"], record["fault_code"], record["outcome"]) == (
            status, code, "client_fault"), what
        assert record["peer"] == "127.0.0.1"
        seen[code] = seen.get(code, 0) + 1

    # 429 from the per-IP limit (a pipeline stage) ...
    for _ in range(3):
        ok = rawhttp.request(server.port, [rawhttp.post("/soap", LIST)])
        assert ok is not None and ok.status == 200
    limited = rawhttp.request(server.port, [rawhttp.post("/soap", LIST)])
    assert limited is not None and limited.status == 429
    record = access_line(server, limited.headers["x-correlation-id"])
    assert record["fault_code"] == "soap:Client.RateLimited" and record["method"] == "POST"
    seen["soap:Client.RateLimited"] = 1

    # ... and 503 from the per-address connection cap (before any request is read).
    time.sleep(0.5)  # the server has seen the earlier connections close
    held = [rawhttp.connect(server.port), rawhttp.connect(server.port)]
    time.sleep(0.2)
    over = rawhttp.connect(server.port)
    refused = rawhttp.read_response(over)
    over.close()
    for sock in held:
        sock.close()
    assert refused is not None and refused.status == 503
    record = access_line(server, refused.headers["x-correlation-id"])
    assert record["fault_code"] == "soap:Client.TooManyConnections"
    assert record["method"] is None and record["path"] is None
    seen["soap:Client.TooManyConnections"] = 1

    samples = scrape(server)
    for code, count in seen.items():
        assert value(samples, "highway_faults_total", operation="none", code=code) == count, code
    assert value(samples, "highway_requests_total", operation="none",
                 outcome="client_fault") == sum(seen.values())


def test_get_answers_are_logged_but_not_counted_as_soap(server: RunningServer) -> None:
    page = rawhttp.request(server.port, [b"GET /soap?wsdl HTTP/1.1\r\nHost: x\r\n\r\n"])
    assert page is not None and page.status == 200
    record = access_line(server, page.headers["x-correlation-id"])
    assert (record["method"], record["path"], record["status"]) == ("GET", "/soap", 200)
    samples = scrape(server)
    assert value(samples, "highway_requests_total", operation="none", outcome="ok") == 0
