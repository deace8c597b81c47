"""One SOAP request as it travels down the request path, and the reply it ends in."""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.x509 import Certificate
    from lxml.etree import _Element

    from soap_service.core.principal import Principal
    from soap_service.core.stage_timing import StageLaps


@dataclasses.dataclass(frozen=True)
class TransportInfo:
    """What the connection (and a trusted proxy in front of it) tells us about the caller."""

    peer_ip: str  # the client's address: the socket's peer, or what a trusted proxy forwarded
    is_tls: bool = False  # the client reached us over TLS (this connection, or a trusted proxy's)
    is_loopback_listener: bool = False
    client_cert: Certificate | None = None  # from this connection's TLS only
    proxy_ip: str | None = None  # the trusted proxy the request came through, if any


@dataclasses.dataclass
class Exchange:
    """The request, and what each stage of the path has learnt about it so far.

    Stages fill fields in order: `envelope` (XML pre-checks), `operation` (schema validation
    and dispatch), `principal` (WS-Security and mTLS), then the operation runs.
    """

    correlation_id: str
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names; repeated headers joined by ", "
    body: bytes
    transport: TransportInfo
    started: float = dataclasses.field(default_factory=time.monotonic)
    envelope: _Element | None = None
    operation: str | None = None
    principal: Principal | None = None
    response_headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    # Free-form facts for logs and metrics (e.g. "auth": "digest"); never secrets.
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Per-stage laps with --stage-timing (core/stage_timing.py); None otherwise.
    timing: StageLaps | None = None

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclasses.dataclass(frozen=True)
class Reply:
    """What goes back on the wire: status, headers, body."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "text/xml; charset=utf-8"
