"""The catalogue of hostile and malformed inputs against the real server: exact status and
fault code for each, and a valid request still succeeds after every one."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import RunningServer
from tests.frontdoor import rawhttp
from tests.frontdoor.catalogue import CASES, VALID, Case, soap

LIMIT = re.compile(rb"<ht:limit>([^<]*)</ht:limit>")
CORRELATION = re.compile(rb"<ht:correlationId>([0-9a-f]+)</ht:correlationId>")


def _send(server: RunningServer, case: Case) -> rawhttp.Response:
    sock = rawhttp.connect(server.port, timeout=15)
    try:
        rawhttp.send_all(sock, case.parts)
        answer = rawhttp.read_response(sock)
    finally:
        sock.close()
    assert answer is not None, f"{case.name}: no response"
    return answer


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(catalogue_server: RunningServer, case: Case) -> None:
    answer = _send(catalogue_server, case)
    assert (answer.status, answer.faultcode) == (case.status, case.code), answer.body[:300]
    assert answer.headers["content-type"].startswith("text/xml")
    if case.code is not None:
        correlation = CORRELATION.search(answer.body)
        assert correlation is not None
        assert answer.headers["x-correlation-id"] == correlation.group(1).decode()
        assert len(answer.body) < 1200  # a small fault, never an echo of the input
    if case.limit is not None:
        limit = LIMIT.search(answer.body)
        assert limit is not None and limit.group(1).decode() == case.limit
    after = _send(catalogue_server, Case("valid", soap(VALID), 200, None))
    assert after.status == 200, f"service unhealthy after {case.name}"


def test_refusal_logging_is_rate_limited(catalogue_server: RunningServer) -> None:
    flood = next(c for c in CASES if c.name == "billion-laughs")
    sock = rawhttp.connect(catalogue_server.port)
    for _ in range(300):  # one keep-alive connection: the refusals are XML-level (500)
        rawhttp.send_all(sock, flood.parts)
        answer = rawhttp.read_response(sock)
        assert answer is not None and answer.faultcode == "soap:Client.DTDNotAllowed"
    sock.close()
    time.sleep(1.0)
    _send(catalogue_server, flood)
    log = catalogue_server.log_text()
    assert log.count("DTDNotAllowed") < 300
    assert "suppressed" in log


def test_refusal_correlation_id_is_in_the_server_log(catalogue_server: RunningServer) -> None:
    time.sleep(2.0)  # let the refusal-log bucket refill after the floods above
    for case in (c for c in CASES if c.name in ("billion-laughs", "content-length-over-cap")):
        answer = _send(catalogue_server, case)
        cid = answer.headers["x-correlation-id"]
        assert cid in catalogue_server.log_text()


def test_no_envelope_or_secret_reaches_the_log(catalogue_server: RunningServer) -> None:
    secret = "s3cr3t-pa55w0rd-7f1c"
    header = ('<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-'
              'wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken><wsse:Username>u</wsse:'
              f"Username><wsse:Password>{secret}</wsse:Password><wsse:Nonce>{secret}N</wsse:"
              "Nonce></wsse:UsernameToken></wsse:Security>")
    bodies = [
        VALID.replace(b"<soap:Body>", f"<soap:Header>{header}</soap:Header><soap:Body>".encode()),
        VALID.replace(b"<soap:Body>", f"<soap:Header>{header}</soap:Header><soap:Body>"
                      .encode()).replace(b"<ht:ListHighways/>", b"<ht:Nope/>"),
        VALID.replace(b"<soap:Body>", f"<soap:Header>{header}</soap:Header><soap:Body>"
                      .encode())[:-40],
    ]
    for body in bodies:
        _send(catalogue_server, Case("secret", soap(body), 0, None))
    log = catalogue_server.log_text()
    assert secret not in log
    assert "<soap:Envelope" not in log and "soap:Envelope xmlns" not in log
