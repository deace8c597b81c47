"""Answering below the resource: a complete HTTP response with a SOAP Fault body, written
straight to the transport, then the connection is closed (400, 408, 413, 503).

Such a refusal has no Exchange of the pipeline's; `write_refusal` makes a minimal one (the
peer, the correlation id) and reports the answer to the process's ReplyExit, so the access log
and the metrics see it like any other answer."""

from __future__ import annotations

from typing import Any

from twisted.web.http import RESPONSES

from soap_service import faults
from soap_service.core.exchange import Exchange, Reply, TransportInfo
from soap_service.core.observers import ReplyExit
from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal_log import log_refusal

# After a refusal, how long the peer gets to read it before the connection is aborted.
ABORT_AFTER_SECONDS = 5.0
# After a 413, at most this much more of the body is read and dropped (for at most
# DRAIN_SECONDS), so that a client that sends everything before reading sees the 413.
DRAIN_MAX_BYTES = 8 * 1024 * 1024
DRAIN_SECONDS = 2.0


def refusal_reply(fault: ServiceFault, correlation_id: str) -> Reply:
    """The refusal as a Reply: the fault envelope, its status and headers."""
    return Reply(fault.http_status, faults.render_fault(fault, correlation_id),
                 (("X-Correlation-ID", correlation_id), *fault.headers))


def refusal_bytes(reply: Reply) -> bytes:
    """The whole response: status line, headers (Connection: close) and the fault envelope."""
    reason = RESPONSES.get(reply.status, b"Error").decode("ascii")
    lines = [
        f"HTTP/1.1 {reply.status} {reason}",
        f"Content-Type: {reply.content_type}",
        f"Content-Length: {len(reply.body)}",
        "Connection: close",
    ]
    lines.extend(f"{name}: {value}" for name, value in reply.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body


def too_large(limit: int) -> ServiceFault:
    """413: the body is (or would be) larger than the configured cap."""
    return ServiceFault(
        faults.CLIENT_REQUEST_TOO_LARGE,
        f"The request body exceeds the limit of {limit} bytes.",
        reason="body too large",
    )


def timed_out(what: str) -> ServiceFault:
    """408: the request's headers or body did not arrive before the deadline."""
    return ServiceFault(
        faults.CLIENT_REQUEST_TIMEOUT,
        f"The request {what} did not arrive in time.",
        reason=f"{what} deadline",
    )


def bad_http_request(what: str) -> ServiceFault:
    """400: Twisted's HTTP parser refused the framing (bad request line, header, chunk...)."""
    return ServiceFault(
        faults.CLIENT_BAD_HTTP_REQUEST,
        "The HTTP request is malformed.",
        reason=what,
    )


def peer_of(transport: Any) -> str:
    """The peer's address for log lines (never raises)."""
    try:
        return str(getattr(transport.getPeer(), "host", "unknown"))
    except Exception:  # noqa: BLE001 - a closed or odd transport must not break refusing
        return "unknown"


def write_refusal(transport: Any, fault: ServiceFault, reply_exit: ReplyExit | None = None,
                  ) -> str:
    """Report the refusal to `reply_exit` (access log, metrics) and write it; returns the
    correlation id. Without an exit (a bare Site in a test) it is logged here, rate limited.

    The caller closes the connection, and schedules abort_if_connected in case the peer
    never reads (ABORT_AFTER_SECONDS).
    """
    correlation_id = faults.new_correlation_id()
    reply = refusal_reply(fault, correlation_id)
    if reply_exit is None:
        log_refusal(fault.http_status, fault.short_code, correlation_id, peer_of(transport),
                    fault.reason or "-")
    else:
        exchange = Exchange(correlation_id=correlation_id, method="", path="", headers={},
                            body=b"", transport=TransportInfo(peer_ip=peer_of(transport)))
        reply_exit.completed(exchange, reply, fault)
    transport.write(refusal_bytes(reply))
    return correlation_id


def abort_if_connected(transport: Any) -> None:
    """Drop a connection that is still open (a peer that never reads its refusal)."""
    if getattr(transport, "connected", False) and hasattr(transport, "abortConnection"):
        transport.abortConnection()
