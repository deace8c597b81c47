"""The access log: one line per answer (SOAP requests, GET routes, refusals at any layer) with
what was decided, never what was sent."""

from __future__ import annotations

import logging
import time

from soap_service.core.exchange import Exchange, Reply
from soap_service.core.observers import ExchangeObserver
from soap_service.faults import ServiceFault
from soap_service.frontdoor.log_hygiene import redact
from soap_service.frontdoor.refusal_log import refusal_filter
from soap_service.ops.logs import ACCESS_ATTR, ACCESS_LOGGER, AccessHandler

log = logging.getLogger(ACCESS_LOGGER)
REASON_LIMIT = 200
PATH_LIMIT = 100
# Probes answer every few seconds: their successes are logged at DEBUG, not INFO.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})
# Refusals a flood produces; their lines go through the refusal-log rate limit.
FLOOD_STATUSES = frozenset({400, 408, 413, 429, 503})


def outcome_of(fault: ServiceFault | None) -> str:
    """`ok`, `client_fault` (the caller's request was refused) or `server_fault`."""
    if fault is None:
        return "ok"
    return "server_fault" if fault.code.startswith("soap:Server") else "client_fault"


class AccessLog(ExchangeObserver):
    """Logs each finished exchange on `highway.access` (JSON or text, see ops/logs.py).

    Fields: correlation_id, method, path, principal, auth, operation, outcome, fault_code,
    reason, status, duration_ms, bytes_in, bytes_out, peer (and proxy, behind a
    --trusted-proxy). Never the
    envelope, a header value or a credential: only the server's own decisions, and the fault
    reason (which stages keep secret-free) passed through the redaction filter once more.
    """

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        """See ExchangeObserver.completed."""
        level = (logging.DEBUG if fault is None and exchange.path in PROBE_PATHS
                 else logging.INFO)
        if not log.isEnabledFor(level):
            return  # skip building the fields when the line would be dropped
        principal = exchange.principal
        reason = None
        if fault is not None and fault.reason:
            reason = redact(fault.reason[:REASON_LIMIT])
        fields = {
            "correlation_id": exchange.correlation_id,
            # Empty for a refusal of the HTTP layer (the request line may not even parse).
            "method": exchange.method[:10] or None,
            "path": redact(exchange.path[:PATH_LIMIT]) or None,
            "principal": principal.name if principal is not None else None,
            "auth": exchange.notes.get("auth"),
            "operation": exchange.operation,
            "outcome": outcome_of(fault),
            "fault_code": fault.code if fault is not None else None,
            "reason": reason,
            "status": reply.status,
            "duration_ms": round((time.monotonic() - exchange.started) * 1000.0, 2),
            "bytes_in": len(exchange.body),
            "bytes_out": len(reply.body),
            "peer": exchange.transport.peer_ip,
        }
        if exchange.transport.proxy_ip is not None:
            fields["proxy"] = exchange.transport.proxy_ip  # peer is then the forwarded client
        flood = fault is not None and reply.status in FLOOD_STATUSES
        # Only answers without a fault skip logging's dispatch: a client fault's line goes
        # through the refusal bucket (frontdoor/refusal_log.py is_refusal), whatever its status.
        handler = _direct_handler(level) if fault is None else None
        if handler is not None:
            handler.write_fields(level, ACCESS_LOGGER, fields)
        else:
            log.log(level, "request", extra={ACCESS_ATTR: fields, "refusal": flood})


def _direct_handler(level: int) -> AccessHandler | None:
    """The handler to write a line to directly, when logging would do nothing else with the
    record: the access logger's only handler is ours, unfiltered, at a level that passes, and
    the logger's only filter is the refusal bucket (which lets answers without a fault through)."""
    handlers = log.handlers
    if len(handlers) != 1 or log.propagate:
        return None
    handler = handlers[0]
    if type(handler) is not AccessHandler or handler.filters or level < handler.level:
        return None
    if log.filters and log.filters != [refusal_filter()]:
        return None
    return handler
