"""The GET routes: the contract (?wsdl, ?xsd), liveness and readiness."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from soap_service import faults
from soap_service.contract import contract
from soap_service.core.exchange import Reply
from soap_service.faults import ServiceFault

XML = "text/xml; charset=utf-8"
JSON = "application/json"

# A readiness probe returns None when its dependency answers, else a short reason.
ReadinessProbe = tuple[str, Callable[[], str | None]]


def contract_route(endpoint_url: str) -> Callable[[frozenset[str]], Reply]:
    """GET /soap?wsdl (also ?singleWsdl, what .NET tools ask for) and ?xsd. The WSDL is rendered
    once, with the configured address; it is already a single file (the schema is inline)."""
    wsdl = contract.render_wsdl(endpoint_url)
    xsd = contract.xsd_bytes()

    def route(query: frozenset[str]) -> Reply:
        if "wsdl" in query or "singlewsdl" in query:  # query names arrive lower-cased
            return Reply(200, wsdl, content_type=XML)
        if "xsd" in query:
            return Reply(200, xsd, content_type=XML)
        raise ServiceFault(
            faults.CLIENT_METHOD_NOT_ALLOWED,
            "Send SOAP requests with POST; the contract is at ?wsdl.",
            headers=[("Allow", "GET, HEAD, POST")],
        )

    return route


def healthz_route(_query: frozenset[str]) -> Reply:
    """Liveness: the process is serving."""
    return Reply(200, b'{"status": "ok"}\n', content_type=JSON)


def readyz_route(probes: Sequence[ReadinessProbe]) -> Callable[[frozenset[str]], Reply]:
    """Readiness: every dependency (database, Redis when configured) answers."""

    def route(_query: frozenset[str]) -> Reply:
        checks: dict[str, str] = {}
        for name, probe in probes:
            try:
                problem = probe()
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                problem = type(exc).__name__
            checks[name] = "ok" if problem is None else problem
        ready = all(value == "ok" for value in checks.values())
        body = json.dumps({"status": "ready" if ready else "not ready", "checks": checks})
        return Reply(200 if ready else 503, body.encode() + b"\n", content_type=JSON)

    return route
