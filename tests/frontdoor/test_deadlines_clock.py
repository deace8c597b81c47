"""Header, body and idle deadlines of FrontDoorChannel on Twisted's Clock and StringTransport:
time is advanced by the test, not slept (the model is twisted/web/test/test_http.py). One live
test per deadline stays in test_http_layer.py."""

from __future__ import annotations

from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.web import resource, server

from soap_service.frontdoor.channel import FrontDoorChannel
from soap_service.frontdoor.http_layer import install_front_door
from soap_service.frontdoor.refusal import ABORT_AFTER_SECONDS, DRAIN_SECONDS
from soap_service.frontdoor.settings import FrontDoorSettings
from tests.frontdoor.rawhttp import post

PEER = IPv4Address("TCP", "192.0.2.7", 40000)


class _Answer(resource.Resource):
    """Answers 200 with the body length, synchronously."""

    isLeaf = True

    def render(self, request: server.Request) -> bytes:
        body = request.content.read() if request.content is not None else b""
        return str(len(body)).encode()


class _Transport(StringTransport):
    """StringTransport that records an abort as well as a close."""

    aborted = False

    def abortConnection(self) -> None:
        self.aborted = True
        self.loseConnection()


def _connect(**fields: float) -> tuple[Clock, FrontDoorChannel, _Transport]:
    clock = Clock()
    site = server.Site(_Answer(), reactor=clock)
    install_front_door(site, FrontDoorSettings(**fields))  # type: ignore[arg-type]
    channel = site.buildProtocol(PEER)
    assert isinstance(channel, FrontDoorChannel)
    transport = _Transport(peerAddress=PEER)
    channel.makeConnection(transport)
    return clock, channel, transport


def _timed_out(transport: _Transport) -> bool:
    """A 408 with the RequestTimeout fault was written and the connection is being closed."""
    written = transport.value()
    return (written.startswith(b"HTTP/1.1 408 ") and b"Client.RequestTimeout" in written
            and transport.disconnecting)


def test_silent_connection_gets_408_exactly_at_the_header_deadline() -> None:
    clock, _channel, transport = _connect(header_timeout=10.0, idle_timeout=60.0)
    clock.advance(9.9)
    assert transport.value() == b"" and not transport.disconnecting
    clock.advance(0.2)
    assert _timed_out(transport)


def test_trickled_headers_get_408_although_bytes_keep_coming() -> None:
    # Each byte would reset an idle timeout; the header deadline does not move.
    clock, channel, transport = _connect(header_timeout=1.0, idle_timeout=30.0)
    head = b"POST /soap HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
    for index, byte in enumerate(head):
        channel.dataReceived(bytes([byte]))
        clock.advance(0.25)  # one byte every 0.25 s (exact in binary floating point)
        if index < 3:  # 0.75 s: still within the deadline
            assert transport.value() == b""
        if transport.disconnecting:
            break
    assert _timed_out(transport)
    assert clock.seconds() == 1.0  # refused at the deadline, while bytes were still coming


def test_slow_body_gets_408_at_the_body_deadline_counted_from_the_headers() -> None:
    clock, channel, transport = _connect(header_timeout=5.0, body_timeout=1.0, idle_timeout=60.0)
    request = post("/soap", b"x" * 100)
    clock.advance(4.0)  # headers arrive late, but within their deadline
    channel.dataReceived(request[:-50])  # headers and half the body, then nothing
    clock.advance(0.9)
    assert transport.value() == b""  # the header deadline (5 s) passed; it no longer counts
    clock.advance(0.2)
    assert _timed_out(transport)


def test_a_complete_request_cancels_both_deadlines() -> None:
    clock, channel, transport = _connect(header_timeout=1.0, body_timeout=1.0, idle_timeout=60.0)
    channel.dataReceived(post("/soap", b"abc"))
    assert transport.value().startswith(b"HTTP/1.1 200 ") and transport.value().endswith(b"3")
    transport.clear()
    clock.advance(30.0)
    assert transport.value() == b"" and not transport.disconnecting  # kept alive


def test_each_keep_alive_request_gets_its_own_header_deadline() -> None:
    clock, channel, transport = _connect(header_timeout=1.0, idle_timeout=60.0)
    clock.advance(0.9)
    channel.dataReceived(post("/soap", b"1"))  # just within the connection's deadline
    assert transport.value().startswith(b"HTTP/1.1 200 ")
    transport.clear()
    clock.advance(5.0)  # idle between requests: only the idle timeout applies
    channel.dataReceived(b"POST /soap HTTP/1.1\r\n")  # the next request starts its deadline
    clock.advance(0.9)
    assert transport.value() == b""
    clock.advance(0.2)
    assert _timed_out(transport)


def test_idle_keep_alive_connection_is_closed_by_the_idle_timeout() -> None:
    clock, channel, transport = _connect(header_timeout=5.0, idle_timeout=2.0)
    channel.dataReceived(post("/soap", b"1") + post("/soap", b"22"))  # pipelined
    written = transport.value()
    assert written.count(b"HTTP/1.1 200 ") == 2 and written.endswith(b"2")
    clock.advance(1.9)
    assert not transport.disconnecting
    clock.advance(0.2)
    assert transport.disconnecting and b"408" not in transport.value()


def test_a_refused_peer_that_keeps_the_connection_open_is_aborted() -> None:
    clock, _channel, transport = _connect(header_timeout=1.0, idle_timeout=60.0)
    clock.advance(1.1)
    assert _timed_out(transport) and not transport.aborted
    clock.advance(ABORT_AFTER_SECONDS + 0.1)
    assert transport.aborted


def test_a_refused_body_is_drained_for_at_most_the_drain_window() -> None:
    clock, channel, transport = _connect(max_body_bytes=1000, header_timeout=5.0,
                                         idle_timeout=60.0)
    request = post("/soap", b"x" * 5000)
    head = request[: request.index(b"\r\n\r\n") + 4]
    channel.dataReceived(head + b"x" * 1000)  # over the cap by Content-Length: 413 at once
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    assert not transport.disconnecting  # still reading (and dropping) the rest of the body
    clock.advance(DRAIN_SECONDS - 0.1)
    assert not transport.disconnecting
    clock.advance(0.2)  # the client never sent the rest: closed at the end of the window
    assert transport.disconnecting


def test_a_refused_body_sent_in_full_closes_the_connection_at_once() -> None:
    _clock, channel, transport = _connect(max_body_bytes=1000, idle_timeout=60.0)
    channel.dataReceived(post("/soap", b"x" * 5000))
    assert transport.value().startswith(b"HTTP/1.1 413 ") and transport.disconnecting
    assert transport.value().count(b"HTTP/1.1 ") == 1  # the drained body was never answered


def test_keep_alive_requests_reuse_the_connections_timers() -> None:
    # Arming a deadline moves its pending timer; 200 requests leave as many timers as one.
    clock, channel, transport = _connect(header_timeout=5.0, body_timeout=5.0, idle_timeout=60.0)
    channel.dataReceived(post("/soap", b"1"))
    scheduled: list[float] = []
    schedule = channel.callLater  # TimeoutMixin's hook "for test purposes"

    def counting(delay: float, function: object) -> object:
        scheduled.append(delay)
        return schedule(delay, function)

    channel.callLater = counting  # type: ignore[method-assign]
    for index in range(200):
        channel.dataReceived(post("/soap", b"x" * (index % 7 + 1)))
        clock.advance(0.1)
    assert transport.value().count(b"HTTP/1.1 200 ") == 201
    assert scheduled == [] and len(clock.getDelayedCalls()) <= 3
    # ...and every deadline still holds: the next request's body never comes.
    transport.clear()
    channel.dataReceived(post("/soap", b"y" * 10)[:-5])
    clock.advance(4.9)
    assert transport.value() == b""
    clock.advance(0.2)
    assert _timed_out(transport)


def test_connection_lost_drops_every_timer() -> None:
    clock, channel, _transport = _connect(header_timeout=5.0, body_timeout=5.0, idle_timeout=60.0)
    channel.dataReceived(post("/soap", b"1") + post("/soap", b"2")[:40])
    assert clock.getDelayedCalls()
    channel.connectionLost(None)
    assert [call for call in clock.getDelayedCalls() if call.active()] == []
