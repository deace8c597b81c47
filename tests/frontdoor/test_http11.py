"""RFC 9112 rules at the front door: Host fields, request-target forms, half-close, the Server
header; and the channel's backpressure, in process with Twisted's StringTransport."""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Iterator

import pytest
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web import resource, server

from soap_service.faults import ServiceFault
from soap_service.frontdoor.channel import Deadlines, FrontDoorChannel
from soap_service.frontdoor.limited_request import limited_request_factory
from soap_service.frontdoor.request_target import check_host_fields, check_target
from tests.conftest import RunningServer, start_server
from tests.frontdoor import rawhttp
from tests.frontdoor.catalogue import VALID, soap

SOAP_HEAD = b"Content-Type: text/xml; charset=utf-8\r\nContent-Length: %d\r\n\r\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("http11"), "--no-require-auth")
    yield running
    running.stop()


def _post(target: bytes = b"/soap", host_lines: bytes = b"Host: 127.0.0.1\r\n",
          version: bytes = b"HTTP/1.1") -> bytes:
    return (b"POST %s %s\r\n" % (target, version) + host_lines + SOAP_HEAD % len(VALID) + VALID)


def _half_closed(port: int, data: bytes, answers: int) -> tuple[list[rawhttp.Response], bytes]:
    """Send `data`, shut down our sending side, read `answers` responses and what follows."""
    sock = rawhttp.connect(port, timeout=10)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    got = [rawhttp.read_response(sock) for _ in range(answers)]
    rest = b""
    while chunk := sock.recv(65536):
        rest += chunk
    sock.close()
    assert all(got), got
    return [r for r in got if r is not None], rest


# --- Host fields and request-target forms, on the real server ------------------------------

@pytest.mark.parametrize(("name", "request_bytes", "status", "code"), [
    ("no-host", _post(host_lines=b""), 400, "soap:Client.BadHTTPRequest"),
    ("two-hosts", _post(host_lines=b"Host: a\r\nHost: b\r\n"), 400, "soap:Client.BadHTTPRequest"),
    ("two-hosts-same", _post(host_lines=b"Host: a\r\nHost: a\r\n"), 400,
     "soap:Client.BadHTTPRequest"),
    ("malformed-host", _post(host_lines=b"Host: a b/c\r\n"), 400, "soap:Client.BadHTTPRequest"),
    ("http10-two-hosts", _post(host_lines=b"Host: a\r\nHost: b\r\n", version=b"HTTP/1.0"), 400,
     "soap:Client.BadHTTPRequest"),
    ("options-star", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 405,
     "soap:Client.MethodNotAllowed"),
    ("get-star", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, "soap:Client.BadHTTPRequest"),
    ("authority-form", b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n", 400,
     "soap:Client.BadHTTPRequest"),
    ("absolute-ftp", _post(b"ftp://127.0.0.1/soap"), 400, "soap:Client.BadHTTPRequest"),
    ("absolute-no-authority", _post(b"http:///soap"), 400, "soap:Client.BadHTTPRequest"),
    ("absolute-userinfo", _post(b"http://u:p@127.0.0.1/soap"), 400,
     "soap:Client.BadHTTPRequest"),
])
def test_refusals_carry_a_fault_and_correlation_id(live, name, request_bytes, status, code):
    answer = rawhttp.request(live.port, [request_bytes])
    assert answer is not None, name
    assert (answer.status, answer.faultcode) == (status, code), answer.body[:300]
    assert answer.headers["x-correlation-id"].encode() in answer.body
    assert answer.headers["content-type"].startswith("text/xml")
    if status == 405:
        assert answer.headers["allow"] == "GET, HEAD, POST"
    assert rawhttp.request(live.port, soap(VALID)).status == 200


@pytest.mark.parametrize("target", [b"http://127.0.0.1/soap", b"HTTP://other.example:8080/soap",
                                    b"https://127.0.0.1/soap"])
def test_absolute_form_is_served_like_origin_form(live, target):
    answer = rawhttp.request(live.port, [_post(target)])
    assert answer is not None and answer.status == 200 and b"ListHighwaysResponse" in answer.body


def test_absolute_form_wsdl_and_http10_without_host(live):
    absolute = b"GET http://127.0.0.1/soap?wsdl HTTP/1.1\r\nHost: x\r\n\r\n"
    wsdl = rawhttp.request(live.port, [absolute])
    assert wsdl is not None and wsdl.status == 200 and b"definitions" in wsdl.body
    old = rawhttp.request(live.port, [_post(host_lines=b"", version=b"HTTP/1.0")])
    assert old is not None and old.status == 200


def test_server_header_names_no_version(live):
    for parts in (soap(VALID), [b"GET /soap?wsdl HTTP/1.1\r\nHost: x\r\n\r\n"],
                  [b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"]):
        answer = rawhttp.request(live.port, parts)
        assert answer is not None and answer.headers["server"] == "highway-traffic"
        assert "twisted" not in answer.raw_head.decode().lower()


# --- half-close -----------------------------------------------------------------------------

def test_half_closed_client_gets_its_answer(live):
    answers, rest = _half_closed(live.port, _post(), 1)
    assert answers[0].status == 200 and rest == b""


def test_half_closed_client_gets_every_pipelined_answer_then_eof(live):
    wsdl = b"GET /soap?wsdl HTTP/1.1\r\nHost: x\r\n\r\n"
    answers, rest = _half_closed(live.port, _post() + wsdl + _post(), 3)
    assert [a.status for a in answers] == [200, 200, 200]
    assert b"definitions" in answers[1].body and rest == b""


def test_half_close_with_an_incomplete_request_closes_without_waiting(live):
    sock = rawhttp.connect(live.port, timeout=10)
    sock.sendall(_post()[:-20])
    sock.shutdown(socket.SHUT_WR)
    started = time.monotonic()
    assert sock.recv(65536) == b""
    assert time.monotonic() - started < 5  # not the 30 s body deadline
    sock.close()
    assert rawhttp.request(live.port, soap(VALID)).status == 200


# --- pure functions ---------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "uri", "host"), [
    (b"/soap?wsdl", b"/soap?wsdl", None),
    (b"http://h:8080/soap?wsdl", b"/soap?wsdl", b"h:8080"),
    (b"http://h", b"/", b"h"),
    (b"http://h?wsdl", b"/?wsdl", b"h"),
    (b"http://[::1]:80/soap", b"/soap", b"[::1]:80"),
])
def test_check_target_origin_and_absolute_forms(target, uri, host):
    found = check_target(b"POST", target)
    assert (found.uri, found.host) == (uri, host)


@pytest.mark.parametrize(("version", "hosts", "ok"), [
    (b"HTTP/1.1", [b"h"], True), (b"HTTP/1.1", [b""], True), (b"HTTP/1.1", [b"h:80"], True),
    (b"HTTP/1.1", [], False), (b"HTTP/1.1", [b"a", b"a"], False), (b"HTTP/1.1", [b"a/b"], False),
    (b"HTTP/1.1", [b"h:port"], False), (b"HTTP/1.0", [], True), (b"HTTP/1.0", [b"a", b"b"], False),
])
def test_check_host_fields(version, hosts, ok):
    if ok:
        check_host_fields(version, hosts)
    else:
        with pytest.raises(ServiceFault) as info:
            check_host_fields(version, hosts)
        assert info.value.http_status == 400


# --- backpressure in process ------------------------------------------------------------------

class _Numbered(resource.Resource):
    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.rendered = 0

    def render(self, request: server.Request) -> bytes:
        self.rendered += 1
        return b"answer %d" % self.rendered


def _channel() -> tuple[FrontDoorChannel, StringTransport, _Numbered]:
    leaf = _Numbered()
    site = server.Site(leaf, reactor=Clock())
    site.requestFactory = limited_request_factory(1024)
    site.protocol = functools.partial(FrontDoorChannel, Deadlines())  # type: ignore[assignment]
    channel = site.buildProtocol(None)
    transport = StringTransport()
    channel.makeConnection(transport)
    return channel, transport, leaf


def test_a_full_send_buffer_holds_the_next_pipelined_request_and_stops_reading():
    channel, transport, leaf = _channel()
    get = b"GET /x HTTP/1.1\r\nHost: h\r\n\r\n"
    channel.pauseProducing()  # the transport says: my send buffer is full
    assert transport.producerState == "paused"  # no more reading from the socket
    channel.dataReceived(get * 3)
    assert leaf.rendered == 1  # the first is answered; the others wait unparsed
    assert transport.value().count(b"HTTP/1.1 200") == 1
    channel.resumeProducing()  # drained: the held requests run
    assert leaf.rendered == 3 and transport.value().count(b"HTTP/1.1 200") == 3
    assert transport.producerState == "producing"


def test_the_channel_stops_reading_while_a_slow_answer_is_pending():
    # Bytes pipelined behind a request being handled stay bounded: reading pauses.
    channel, transport, _ = _channel()
    channel.pauseProducing()
    channel.resumeProducing()
    assert transport.producerState == "producing"
    channel._handlingRequest = True  # as while an async SOAP answer is pending
    channel.pauseProducing()
    assert transport.producerState == "paused"
