"""An HTTP/1.1 channel with absolute deadlines: a request's headers within `header_timeout`
of its first byte (or of the connection), its body within `body_timeout` of its headers.

Twisted's own timeout is an idle timeout that every byte resets, so a client trickling one
byte a second holds a connection forever; these deadlines do not move. Twisted keeps
parsing and framing the requests (smuggling defences stay its job); HTTP/2 is never offered.

Two more rules Twisted lacks:
- Bounded memory per connection. Once the transport's unsent bytes pass its buffer size
  (64 KiB; the transport then calls `pauseProducing`), the channel stops reading the socket,
  also while a request is being handled, and it does not start the next pipelined request
  until the buffer has drained (`resumeProducing`). A client that pipelines requests and
  never reads holds at most one buffer of answers and one read of requests, on every path.
- Half-close. A client that shuts down its sending side after complete requests
  (`shutdown(SHUT_WR)`) still gets every answer; the connection is closed after the last.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.web.http import HTTPChannel
from zope.interface import implementer

from soap_service.compat import twisted_http
from soap_service.core.observers import ReplyExit
from soap_service.faults import ServiceFault
from soap_service.frontdoor.lazy_deadline import LazyDeadline
from soap_service.frontdoor.refusal import (
    ABORT_AFTER_SECONDS,
    DRAIN_SECONDS,
    abort_if_connected,
    bad_http_request,
    timed_out,
    write_refusal,
)


@dataclasses.dataclass(frozen=True)
class Deadlines:
    """Seconds allowed for a request's line and headers, and then for its body."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0


@implementer(IHalfCloseableProtocol)
class FrontDoorChannel(HTTPChannel):
    """HTTPChannel plus header/body deadlines and `refuse()`, answering with a SOAP fault.

    `callLater` (the Site's reactor) is set by HTTPFactory.buildProtocol before the
    connection is made. The idle keep-alive timeout keeps Twisted's rules (`Site.timeOut`,
    suspended while a request is handled) but runs on a LazyDeadline like the other two, so a
    keep-alive request schedules no new timer (frontdoor/lazy_deadline.py).
    """

    def __init__(self, deadlines: Deadlines, reply_exit: ReplyExit | None = None) -> None:
        super().__init__()
        self.deadlines = deadlines
        self.reply_exit = reply_exit  # where refusals are reported (access log, metrics)
        self.refused = False
        self._drain_left = 0  # after a 413: body bytes still read (and dropped) before closing
        self._headers = LazyDeadline(self._call_later,
                                     functools.partial(self._deadline_passed, "headers"))
        self._body = LazyDeadline(self._call_later,
                                  functools.partial(self._deadline_passed, "body"))
        self._idle = LazyDeadline(self._call_later, self._idle_passed)
        self._abort_call: Any = None
        self._held = False  # a finished request's successor waits for the send buffer to drain
        self._read_closed = False  # the peer half-closed: answer what is in, then close

    def connectionMade(self) -> None:
        """Start the header deadline with the connection: sending nothing is slow too."""
        super().connectionMade()
        self._arm_header_deadline()

    def dataReceived(self, data: bytes) -> None:
        """Start the deadline of a new request's headers; after a refusal, only drain."""
        if self.refused:
            self._drain(data)
            return
        if (not self._headers.armed and not self._body.armed
                and not twisted_http.handling_request(self)):
            self._arm_header_deadline()
        super().dataReceived(data)

    def allHeadersReceived(self) -> None:
        """Headers are in: stop the header deadline, start the body deadline if a body follows."""
        self._headers.disarm()
        super().allHeadersReceived()
        if not self.refused and self.length != 0:
            self._body.arm(self.deadlines.body_timeout)

    def allContentReceived(self) -> None:
        """The body is complete: stop its deadline and hand the request on (unless refused)."""
        self._body.disarm()
        if self.refused:
            self._close_after_refusal()  # the refused body is fully drained
            return
        super().allContentReceived()

    def _send100Continue(self) -> None:  # Twisted's private hook: see compat/twisted_http.py
        # Never invite the body of a request that was just refused (413 on Content-Length).
        if not self.refused:
            getattr(super(), twisted_http.SEND_100_CONTINUE)()

    def _respondToBadRequestAndDisconnect(self) -> None:  # private hook: compat/twisted_http.py
        # Twisted's parser refused the framing; answer 400 with a fault body, not a bare 400.
        if self.refused:
            self._close_after_refusal()  # bad framing while draining a refused body
            return
        self.refuse(bad_http_request("malformed http"))

    def lineLengthExceeded(self, line: bytes) -> None:
        """A request or header line longer than MAX_LENGTH: 400, then close."""
        self.refuse(bad_http_request("line too long"))

    def refuse(self, fault: ServiceFault, drain_bytes: int = 0) -> None:
        """Answer `fault` (413, 408...) with a SOAP Fault body, then close the connection.

        With `drain_bytes`, up to that many more bytes of the refused body are read and
        dropped first (for at most DRAIN_SECONDS): a client that sends its whole body before
        reading then gets the answer instead of a connection reset. Memory stays flat.
        """
        if self.refused or self.transport is None:
            return
        self.refused = True
        self._headers.disarm()
        self._body.disarm()
        self.setTimeout(None)
        write_refusal(self.transport, fault, self.reply_exit)
        if drain_bytes > 0:
            self._drain_left = drain_bytes
            self._abort_call = self.callLater(DRAIN_SECONDS, self._close_after_refusal)
        else:
            self._close_after_refusal()

    def _drain(self, data: bytes) -> None:
        """Feed Twisted's body decoder (which drops the bytes) until the budget is spent."""
        if self._drain_left <= 0:
            return
        self._drain_left -= len(data)
        if self._drain_left < 0:
            self._close_after_refusal()
            return
        # The decoder frames the rest of the refused body; allContentReceived closes.
        super().dataReceived(data)

    def _close_after_refusal(self) -> None:
        self._drain_left = 0
        _cancel(self._abort_call)
        if self.transport is None or getattr(self.transport, "disconnecting", False):
            return
        self.loseConnection()
        self._abort_call = self.callLater(
            ABORT_AFTER_SECONDS, functools.partial(abort_if_connected, self.transport)
        )

    # --- bounded memory: stop reading while the peer does not read ----------------------------

    def pauseProducing(self) -> None:
        """The transport's send buffer is full: stop reading, even mid-request.

        Twisted's HTTPChannel only stops reading here when no request is being handled, and
        while it waits for the transport it never pauses for pipelined bytes either, so
        a never-reading client could make it buffer requests (and then answers) without end.
        """
        super().pauseProducing()
        if self.transport is not None:
            self._network().pauseProducing()

    def resumeProducing(self) -> None:
        """The send buffer drained: read again, and start a held pipelined request."""
        super().resumeProducing()
        if self._held:
            self._release_held()

    def requestDone(self, request: Any) -> None:
        """Like HTTPChannel.requestDone, but while the send buffer is full the next pipelined
        request is held (not parsed, not answered) until `resumeProducing`."""
        if (twisted_http.waiting_for_transport(self) and self.persistent
                and request is self.requests[0]):
            del self.requests[0]
            self._held = True  # still "handling a request": new bytes are only buffered
            idle = twisted_http.saved_idle_timeout(self)
            if idle:
                # The idle timeout runs while held: a peer that never reads is dropped.
                self.setTimeout(idle)
            return
        super().requestDone(request)
        self._pause_if_backlogged()
        self._close_if_read_side_done()

    def _release_held(self) -> None:
        self._held = False
        twisted_http.set_handling_request(self, False)
        data = twisted_http.take_pipelined(self)
        if not twisted_http.waiting_for_transport(self):
            self._network().resumeProducing()
        self.setLineMode(data)  # parses (and may start) the buffered pipelined requests
        self._pause_if_backlogged()
        self._close_if_read_side_done()

    def _network(self) -> Any:
        """The transport as a push producer (typed Any: zope interfaces confuse mypy)."""
        return twisted_http.network_producer(self)

    def _pause_if_backlogged(self) -> None:
        # HTTPChannel.requestDone resumes reading before replaying the buffered pipelined
        # requests; if the next one is in progress and enough is still buffered, stay paused,
        # or every request would add one more socket read to the buffer.
        if twisted_http.handling_request(self) and self.transport is not None:
            if twisted_http.buffered_pipelined_bytes(self) > twisted_http.eager_read_size(self):
                self._network().pauseProducing()

    # --- half-close -----------------------------------------------------------------------------

    def readConnectionLost(self) -> None:
        """The peer will send nothing more (SHUT_WR): finish the requests already in."""
        self._read_closed = True
        self._close_if_read_side_done()

    def writeConnectionLost(self) -> None:
        """Our sending side is gone: nothing more can be answered."""
        self.loseConnection()

    def _close_if_read_side_done(self) -> None:
        # A request still being handled (or held) closes the connection when it is done; an
        # incomplete request can never complete now, so it is dropped.
        if not self._read_closed or twisted_http.handling_request(self) or self._held:
            return
        if self.transport is not None and not getattr(self.transport, "disconnecting", False):
            self.loseConnection()

    def connectionLost(self, reason: Any = None) -> None:
        """Cancel every pending deadline with the connection."""
        self._abort_call = _cancel(self._abort_call)
        super().connectionLost(reason)
        for deadline in (self._headers, self._body, self._idle):
            deadline.cancel()  # after super(): its setTimeout(None) only disarms

    # --- deadlines ---------------------------------------------------------------------------

    def setTimeout(self, period: float | None) -> float | None:
        """TimeoutMixin.setTimeout (the idle timeout; None suspends it), on a LazyDeadline."""
        previous = self.timeOut
        self.timeOut = period  # type: ignore[assignment]
        if period is None:
            self._idle.disarm()
        else:
            self._idle.arm(period)
        return previous

    def resetTimeout(self) -> None:
        """TimeoutMixin.resetTimeout: bytes arrived, the idle timeout starts again."""
        if self._idle.armed and self.timeOut is not None:
            self._idle.arm(self.timeOut)

    def _idle_passed(self) -> None:
        self.timeoutConnection()

    def _call_later(self, seconds: float, function: Any) -> Any:
        return self.callLater(seconds, function)  # looked up per call: set after __init__

    def _arm_header_deadline(self) -> None:
        self._headers.arm(self.deadlines.header_timeout)

    def _deadline_passed(self, what: str) -> None:
        self.refuse(timed_out(what))


def _cancel(call: Any) -> Any:
    """Cancel a pending delayed call (if any); always returns None to clear the slot."""
    if call is not None and call.active():
        call.cancel()
    return None
