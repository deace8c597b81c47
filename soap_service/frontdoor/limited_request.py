"""A twisted.web Request that never holds more than the body cap, never spools to disk and
never parses form bodies."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO
from typing import Any

from twisted.web import server

from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal import DRAIN_MAX_BYTES, write_refusal
from soap_service.frontdoor.refusal import too_large as too_large_fault
from soap_service.frontdoor.request_target import check_host_fields, check_target

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# The Server header names the product only: a version tells an attacker which CVEs to try.
SERVER_HEADER = b"highway-traffic"


class LimitedRequest(server.Request):
    """Refuses a body over `max_body_bytes` with 413: on Content-Length before reading it, and
    for a chunked body as soon as the running total passes the cap.

    Give it to the Site through `limited_request_factory`; with FrontDoorChannel the channel
    answers the refusal and stops reading, otherwise the request closes the connection itself.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __init__(self, channel: Any, *args: Any, **kwargs: Any) -> None:
        # Form bodies are never parsed: a 200 MB multipart POST must not become 2 GB of args.
        kwargs["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kwargs)
        self.received_bytes = 0
        self.refused = False

    def gotLength(self, length: int | None) -> None:
        """Called once the headers are in; `length` is None for a chunked body."""
        # Always memory, never Twisted's temporary file: the cap bounds what is kept.
        self.content = BytesIO()
        if length is not None and length > self.max_body_bytes:
            # Drain a moderately large body (the client may be sending it already), unless
            # the client waits for 100 Continue, which it will never get.
            expects = self.requestHeaders.getRawHeaders(b"expect") or []
            waiting = any(value.lower() == b"100-continue" for value in expects)
            drain = length if length <= DRAIN_MAX_BYTES and not waiting else 0
            self._refuse(too_large_fault(self.max_body_bytes), drain)

    def handleContentChunk(self, data: bytes) -> None:
        """Keep a body chunk unless it takes the running total past the cap."""
        if self.refused:
            return
        self.received_bytes += len(data)
        if self.received_bytes > self.max_body_bytes:
            self._refuse(too_large_fault(self.max_body_bytes), DRAIN_MAX_BYTES)
            return
        self.content.write(data)  # type: ignore[union-attr]

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        """Hand a complete request to the resource, unless it was already refused or its Host
        fields or request-target break RFC 9112 (400/405 through the refusal builder)."""
        if self.refused:
            return
        try:
            check_host_fields(version, self.requestHeaders.getRawHeaders(b"host") or [])
            target = check_target(command, path)
        except ServiceFault as fault:
            self._refuse(fault, 0)
            return
        if target.host is not None:
            # absolute-form: the target's authority replaces Host (RFC 9112 3.2.2).
            self.requestHeaders.setRawHeaders(b"host", [target.host])
        super().requestReceived(command, target.uri, version)

    def setHeader(self, name: Any, value: Any) -> None:
        """As Request.setHeader, except that Twisted's versioned Server header is replaced."""
        if isinstance(name, bytes) and name.lower() == b"server":
            value = SERVER_HEADER
        super().setHeader(name, value)

    def _refuse(self, fault: ServiceFault, drain_bytes: int) -> None:
        self.refused = True
        self.content = BytesIO()  # let go of what was kept so far
        refuse = getattr(self.channel, "refuse", None)
        if refuse is not None:
            refuse(fault, drain_bytes)
            return
        # A plain HTTPChannel: answer and close; the transport stops reading on close.
        write_refusal(self.channel.transport, fault)
        self.channel.loseConnection()


def limited_request_factory(max_body_bytes: int) -> type[LimitedRequest]:
    """A LimitedRequest class with the given cap, for `Site(requestFactory=...)`."""
    return type("LimitedRequest", (LimitedRequest,), {"max_body_bytes": max_body_bytes})


def stamped_request_factory(base: type[server.Request],
                            clock: Callable[[], int]) -> type[server.Request]:
    """`base` whose requests note `created_ns = clock()` when created (--stage-timing only:
    the front-door stage runs from there to the pipeline)."""

    def __init__(self: Any, channel: Any, *args: Any, **kwargs: Any) -> None:
        self.created_ns = clock()
        base.__init__(self, channel, *args, **kwargs)

    return type(base.__name__, (base,), {"__init__": __init__})
