"""The HTTP layer on a real Site (harness process): body cap, no form parsing, deadlines,
idle timeout, connection caps, and refusals that carry SOAP faults.

The deadlines are tested on Twisted's Clock in test_deadlines_clock.py; here one live test per
deadline (header, body, idle) checks them over a real socket."""

from __future__ import annotations

import json
import time

from tests.frontdoor import rawhttp
from tests.frontdoor.rawhttp import chunked, connect, post, read_response, send_all

CAP = 1000


def _ok(port: int) -> None:
    answer = rawhttp.request(port, [post("/soap", b"<a/>")])
    assert answer is not None and answer.status == 200


def test_content_length_over_cap_is_refused_before_the_body(harness):
    site = harness(max_body_bytes=CAP)
    head = post("/soap", b"x" * (CAP + 1))[: -(CAP + 1)]
    answer = rawhttp.request(site.port, [head])  # the body is never sent
    assert answer is not None and answer.status == 413
    assert answer.faultcode == "soap:Client.RequestTooLarge"
    assert answer.headers["connection"] == "close"
    assert answer.headers["x-correlation-id"]
    _ok(site.port)


def test_body_of_exactly_the_cap_is_accepted_in_memory(harness):
    site = harness(max_body_bytes=CAP)
    answer = rawhttp.request(site.port, [post("/soap", b"x" * CAP)])
    assert answer is not None and answer.status == 200
    assert json.loads(answer.body) == {"length": CAP, "args": 0, "content": "BytesIO"}


def test_chunked_body_is_refused_once_the_running_total_passes_the_cap(harness):
    site = harness(max_body_bytes=CAP)
    head = (b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    sock = connect(site.port)
    # 600 bytes: fine; 600 more: over the cap, answered without waiting for the last chunk.
    send_all(sock, [head, b"258\r\n" + b"x" * 600 + b"\r\n", b"258\r\n" + b"y" * 600 + b"\r\n"])
    answer = read_response(sock)
    sock.close()
    assert answer is not None and answer.status == 413
    assert answer.faultcode == "soap:Client.RequestTooLarge"
    under = rawhttp.request(site.port, [head + chunked([b"x" * 500, b"y" * 400])])
    assert under is not None and json.loads(under.body)["length"] == 900


def test_a_client_that_sends_everything_before_reading_still_gets_the_413(harness):
    # The refused body is drained (read and dropped), so the peer never meets a reset.
    site = harness(max_body_bytes=CAP)
    head = (b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    for request in (post("/soap", b"x" * 3_000_000), head + chunked([b"y" * 500_000] * 4)):
        for _ in range(5):
            sock = connect(site.port)
            assert send_all(sock, [request]), "the server reset the connection mid-body"
            answer = read_response(sock)
            sock.close()
            assert answer is not None and answer.status == 413
    _ok(site.port)


def test_expect_continue_is_not_sent_for_a_refused_body(harness):
    site = harness(max_body_bytes=CAP)
    head = post("/soap", b"x" * (CAP + 1), {"Expect": "100-continue"})[: -(CAP + 1)]
    sock = connect(site.port)
    send_all(sock, [head])
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        received += chunk
    sock.close()
    assert received.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in received


def test_form_bodies_are_never_parsed(harness):
    site = harness()
    form = rawhttp.request(site.port, [post("/soap", b"a=1&b=2", content_type=
                                            "application/x-www-form-urlencoded")])
    assert form is not None and json.loads(form.body)["args"] == 0
    boundary = "XyZ"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n"
                 f"--{boundary}--\r\n").encode()
    answer = rawhttp.request(site.port, [post("/soap", multipart, content_type=
                                              f"multipart/form-data; boundary={boundary}")])
    assert answer is not None and json.loads(answer.body) == {
        "length": len(multipart), "args": 0, "content": "BytesIO"}


def test_silent_connection_gets_408_at_the_header_deadline(harness):
    site = harness(header_timeout=1.0)
    sock = connect(site.port)
    started = time.monotonic()
    answer = read_response(sock)
    sock.close()
    assert answer is not None and answer.status == 408
    assert answer.faultcode == "soap:Client.RequestTimeout"
    assert 0.5 < time.monotonic() - started < 8


def test_slow_body_gets_408_at_the_body_deadline(harness):
    site = harness(header_timeout=5.0, body_timeout=1.0)
    sock = connect(site.port)
    request = post("/soap", b"x" * 100)
    send_all(sock, [request[:-50]])  # headers and half the body, then nothing
    started = time.monotonic()
    answer = read_response(sock)
    sock.close()
    assert answer is not None and answer.status == 408
    assert answer.faultcode == "soap:Client.RequestTimeout"
    assert 0.5 < time.monotonic() - started < 8


def test_keep_alive_serves_several_requests_then_idles_out(harness):
    site = harness(idle_timeout=1.0, header_timeout=5.0)
    sock = connect(site.port)
    for _ in range(3):
        send_all(sock, [post("/soap", b"<a/>")])
        answer = read_response(sock)
        assert answer is not None and answer.status == 200
    # Pipelined: two requests in one write, two answers in order.
    send_all(sock, [post("/soap", b"1") + post("/soap", b"22")])
    first, second = read_response(sock), read_response(sock)
    assert first is not None and json.loads(first.body)["length"] == 1
    assert second is not None and json.loads(second.body)["length"] == 2
    started = time.monotonic()
    assert sock.recv(1024) == b""  # closed by the idle timeout
    assert time.monotonic() - started < 8
    sock.close()


def test_malformed_request_line_gets_400_with_a_fault_body(harness):
    site = harness()
    answer = rawhttp.request(site.port, [b"BANANA\r\n\r\n"])
    assert answer is not None and answer.status == 400
    assert answer.faultcode == "soap:Client.BadHTTPRequest"
    long_line = rawhttp.request(site.port, [b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"])
    assert long_line is not None and long_line.status == 400


def test_connection_caps_refuse_the_excess_and_spare_established_clients(harness):
    site = harness(max_connections_per_ip=2, max_connections=3, header_timeout=20.0)
    held = [connect(site.port), connect(site.port)]
    time.sleep(0.2)
    refused = rawhttp.request(site.port, [])
    assert refused is not None and refused.status == 503
    assert refused.faultcode == "soap:Client.TooManyConnections"
    assert refused.headers["retry-after"] == "1"
    # Another address still gets its share, up to the total.
    other = connect(site.port, source="127.0.0.2")
    time.sleep(0.2)
    third = connect(site.port, source="127.0.0.3")
    full = read_response(third)
    third.close()
    assert full is not None and full.status == 503 and full.faultcode == "soap:Server.Overloaded"
    # Established clients are served as before.
    for sock in (*held, other):
        send_all(sock, [post("/soap", b"<a/>")])
        answer = read_response(sock)
        assert answer is not None and answer.status == 200
    for sock in (*held, other):
        sock.close()
    time.sleep(0.3)
    _ok(site.port)


def test_a_trusted_proxy_is_held_only_by_the_total_cap(harness):
    """A balancer carries every client's connections: the per-address cap does not apply to a
    --trusted-proxy address, the total cap still does, and other addresses keep their cap."""
    site = harness(max_connections_per_ip=1, max_connections=5, header_timeout=20.0,
                   trusted_proxies=("127.0.0.1",))
    balancer = [connect(site.port) for _ in range(3)]
    other = connect(site.port, source="127.0.0.2")
    time.sleep(0.2)
    second = connect(site.port, source="127.0.0.2")
    refused = read_response(second)
    second.close()
    assert refused is not None and refused.faultcode == "soap:Client.TooManyConnections"
    for sock in balancer:
        send_all(sock, [post("/soap", b"<a/>")])
        answer = read_response(sock)
        assert answer is not None and answer.status == 200
    balancer.append(connect(site.port))  # the fifth connection: the total is reached
    time.sleep(0.2)
    sixth = connect(site.port)
    full = read_response(sixth)
    sixth.close()
    assert full is not None and full.faultcode == "soap:Server.Overloaded"
    for sock in (*balancer, other):
        sock.close()


def test_refused_connection_is_closed_by_the_server(harness):
    site = harness(max_connections_per_ip=1, max_connections=1, header_timeout=20.0)
    held = connect(site.port)
    time.sleep(0.2)
    extra = connect(site.port)
    extra.settimeout(5)
    data = b""
    while True:
        try:
            chunk = extra.recv(4096)
        except TimeoutError:
            raise AssertionError("the refused connection was left open") from None
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 503 ")
    extra.close()
    held.close()
