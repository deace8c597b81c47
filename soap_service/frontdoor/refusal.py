"""Answering below the resource: a complete HTTP response with a SOAP Fault body, written
straight to the transport, then the connection is closed (413, 408, 503)."""

from __future__ import annotations

from typing import Any

from twisted.web.http import RESPONSES

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal_log import log_refusal

# After a refusal, how long the peer gets to read it before the connection is aborted.
ABORT_AFTER_SECONDS = 5.0
# After a 413, at most this much more of the body is read and dropped (for at most
# DRAIN_SECONDS), so that a client that sends everything before reading sees the 413.
DRAIN_MAX_BYTES = 8 * 1024 * 1024
DRAIN_SECONDS = 2.0


def refusal_bytes(fault: ServiceFault, correlation_id: str) -> bytes:
    """The whole response: status line, headers (Connection: close) and the fault envelope."""
    body = faults.render_fault(fault, correlation_id)
    reason = RESPONSES.get(fault.http_status, b"Error").decode("ascii")
    lines = [
        f"HTTP/1.1 {fault.http_status} {reason}",
        "Content-Type: text/xml; charset=utf-8",
        f"Content-Length: {len(body)}",
        "Connection: close",
        f"X-Correlation-ID: {correlation_id}",
    ]
    lines.extend(f"{name}: {value}" for name, value in fault.headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def too_large(limit: int) -> ServiceFault:
    """413: the body is (or would be) larger than the configured cap."""
    return ServiceFault(
        faults.CLIENT_REQUEST_TOO_LARGE,
        f"The request body exceeds the limit of {limit} bytes.",
        http_status=413,
        reason="body too large",
    )


def timed_out(what: str) -> ServiceFault:
    """408: the request's headers or body did not arrive before the deadline."""
    return ServiceFault(
        faults.CLIENT_REQUEST_TIMEOUT,
        f"The request {what} did not arrive in time.",
        http_status=408,
        reason=f"{what} deadline",
    )


def bad_http_request(what: str) -> ServiceFault:
    """400: Twisted's HTTP parser refused the framing (bad request line, header, chunk...)."""
    return ServiceFault(
        faults.CLIENT_BAD_HTTP_REQUEST,
        "The HTTP request is malformed.",
        http_status=400,
        reason=what,
    )


def peer_of(transport: Any) -> str:
    """The peer's address for log lines (never raises)."""
    try:
        return str(getattr(transport.getPeer(), "host", "unknown"))
    except Exception:  # noqa: BLE001 - a closed or odd transport must not break refusing
        return "unknown"


def write_refusal(transport: Any, fault: ServiceFault) -> str:
    """Log the refusal (rate limited) and write it; returns the correlation id.

    The caller closes the connection, and schedules abort_if_connected in case the peer
    never reads (ABORT_AFTER_SECONDS).
    """
    correlation_id = faults.new_correlation_id()
    log_refusal(fault.http_status, fault.short_code, correlation_id, peer_of(transport),
                fault.reason or "-")
    transport.write(refusal_bytes(fault, correlation_id))
    return correlation_id


def abort_if_connected(transport: Any) -> None:
    """Drop a connection that is still open (a peer that never reads its refusal)."""
    if getattr(transport, "connected", False) and hasattr(transport, "abortConnection"):
        transport.abortConnection()
