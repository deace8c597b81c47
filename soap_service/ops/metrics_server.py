"""The metrics listener: GET /metrics on its own address and port, served by the reactor."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from twisted.internet.error import CannotListenError
from twisted.web import resource, server

from soap_service.settings_fields import ConfigError

log = logging.getLogger("highway.metrics")
METRICS_PATH = b"/metrics"


class MetricsResource(resource.Resource):
    """Answers GET/HEAD /metrics with the registry in Prometheus text format; 404 elsewhere."""

    isLeaf = True

    def __init__(self, registry: CollectorRegistry) -> None:
        super().__init__()
        self._registry = registry

    def render(self, request: server.Request) -> bytes:
        """Route by path and method; no HTML error pages."""
        request.setHeader(b"Cache-Control", b"no-store")
        if request.path != METRICS_PATH:
            request.setResponseCode(404)
            request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
            return b"not found: metrics are at /metrics\n"
        if request.method not in (b"GET", b"HEAD"):
            request.setResponseCode(405)
            request.setHeader(b"Allow", b"GET, HEAD")
            return b""
        body = generate_latest(self._registry)
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
        request.setHeader(b"Content-Length", str(len(body)).encode("ascii"))
        return b"" if request.method == b"HEAD" else body


class ConfigurationFailure(ConfigError):
    """The metrics listener cannot start; the message names the setting."""


def listen_metrics(reactor: Any, registry: CollectorRegistry, host: str, port: int,
                   sock: Any = None) -> Any:
    """Start the metrics listener (on `sock` when already bound); returns the listening port
    (ConfigurationFailure if busy)."""
    site = server.Site(MetricsResource(registry), reactor=reactor)
    site.noisy = False
    site.displayTracebacks = False
    if sock is not None:
        listening = reactor.adoptStreamPort(sock.fileno(), sock.family, site)
        sock.close()  # the reactor holds its own duplicate
        bound = listening.getHost()
        shown = f"[{bound.host}]" if ":" in bound.host else bound.host
        log.info("metrics at http://%s:%d/metrics", shown, bound.port)
        return listening
    try:
        listening = reactor.listenTCP(port, site, interface=host)
    except CannotListenError as exc:
        raise ConfigurationFailure(
            f"cannot listen for metrics on {host}:{port} (--metrics-port/--metrics-host): "
            f"{exc.socketError}"
        ) from exc
    bound = listening.getHost()
    shown = f"[{bound.host}]" if ":" in bound.host else bound.host
    log.info("metrics at http://%s:%d/metrics", shown, bound.port)
    return listening
