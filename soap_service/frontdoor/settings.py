"""Front-door limits: body size, deadlines, connection caps and XML shape limits."""

from __future__ import annotations

import dataclasses

from soap_service.frontdoor.forwarded import parse_network
from soap_service.settings_fields import positive_float, positive_int, setting


def _network(text: str) -> str:
    """Validate one trusted-proxy address or CIDR; kept as text so settings stay printable."""
    parse_network(text)
    return text.strip()


@dataclasses.dataclass(frozen=True)
class FrontDoorSettings:
    """Limits applied before Spyne sees a request; defaults follow trusted SOAP stacks.

    Numbers: message size between WCF's 64 KiB and Kong's 10 MiB (Oracle's gateway uses ~1 MB);
    depth as WCF (32); attributes and names well under Kong/CXF; elements enough for a full
    1000-observation ReportObservations batch (~5,000 elements) with a WS-Security header.
    """

    max_body_bytes: int = setting(
        1024 * 1024,
        flag="--max-body-bytes",
        parse=positive_int,
        help="largest request body accepted, in bytes (413 beyond)",
    )
    header_timeout: float = setting(
        10.0,
        flag="--header-timeout",
        parse=positive_float,
        help="seconds a client has to send a request's line and headers (408 beyond)",
    )
    body_timeout: float = setting(
        30.0,
        flag="--body-timeout",
        parse=positive_float,
        help="seconds a client has to send a request's whole body once its headers are in "
        "(408 beyond)",
    )
    idle_timeout: float = setting(
        30.0,
        flag="--idle-timeout",
        parse=positive_float,
        help="seconds an idle keep-alive connection stays open",
    )
    max_connections: int = setting(
        512,
        flag="--max-connections",
        parse=positive_int,
        help="open connections in total; more are answered 503 and closed",
    )
    max_connections_per_ip: int = setting(
        32,
        flag="--max-connections-per-ip",
        parse=positive_int,
        help="open connections from one peer address; more are answered 503 and closed",
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        flag="--trusted-proxy",
        repeatable=True,
        parse=_network,
        help="address or CIDR of a balancer/proxy in front (repeatable): from such a peer the "
        "client address comes from Forwarded or X-Forwarded-For (rightmost untrusted hop) and "
        "the scheme from Forwarded proto= or X-Forwarded-Proto, for the access log, the per-IP "
        "limits and the PasswordText-needs-TLS rule; from other peers these headers are ignored",
    )
    max_xml_depth: int = setting(
        32,
        flag="--max-xml-depth",
        parse=positive_int,
        help="deepest element nesting in a request (the Envelope is depth 1)",
    )
    max_xml_elements: int = setting(
        10_000,
        flag="--max-xml-elements",
        parse=positive_int,
        help="elements in one request (a full 1000-observation batch needs ~5,000)",
    )
    max_xml_attributes: int = setting(
        32,
        flag="--max-xml-attributes",
        parse=positive_int,
        help="attributes on one element (namespace declarations not counted)",
    )
    max_xml_namespaces: int = setting(
        32,
        flag="--max-xml-namespaces",
        parse=positive_int,
        help="namespace declarations on one element",
    )
    max_xml_name_length: int = setting(
        256,
        flag="--max-xml-name-length",
        parse=positive_int,
        help="longest element or attribute name (local part), in characters",
    )
    max_xml_text_length: int = setting(
        65_536,
        flag="--max-xml-text-length",
        parse=positive_int,
        help="longest text node, attribute value or comment, in characters",
    )
    refusal_log_rate: float = setting(
        5.0,
        flag="--refusal-log-rate",
        parse=positive_float,
        help="refusal log lines per second, sustained (the excess is counted, not logged)",
    )
    refusal_log_burst: int = setting(
        50,
        flag="--refusal-log-burst",
        parse=positive_int,
        help="refusal log lines allowed in a burst before --refusal-log-rate applies",
    )

    def __post_init__(self) -> None:
        if self.max_connections_per_ip > self.max_connections:
            raise ValueError(
                "frontdoor.max_connections_per_ip must not exceed frontdoor.max_connections"
            )
