"""Running the server: the asyncio reactor, the Site, TCP or TLS listening, graceful shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import sys
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web import server

from soap_service.frontdoor.http_checks import check_soap_post
from soap_service.frontdoor.http_layer import cap_connections, install_front_door
from soap_service.ops.service_page import service_page_route
from soap_service.ops.wiring import start_ops
from soap_service.security.build import is_loopback_host
from soap_service.settings import ServerSettings
from soap_service.web.assembly import Service, build_service
from soap_service.web.exchange import TransportInfo
from soap_service.web.resource import SOAP_PATH, GetRoute, HighwayResource
from soap_service.web.routes import contract_route, healthz_route, readyz_route

log = logging.getLogger("highway.server")


def install_reactor() -> Any:
    """Install Twisted's asyncio reactor (once per process) and return it."""
    if "twisted.internet.reactor" in sys.modules:
        from twisted.internet import reactor

        return reactor
    from twisted.internet import asyncioreactor

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    asyncioreactor.install(loop)
    from twisted.internet import reactor

    return reactor




def transport_info_factory(settings: ServerSettings) -> Any:
    """A function that reads what the connection says about the caller."""
    from soap_service.security.tls import peer_certificate

    loopback = is_loopback_host(settings.core.host)
    uses_tls = settings.uses_tls

    def transport_info(request: server.Request) -> TransportInfo:
        peer = request.getClientAddress()
        return TransportInfo(
            peer_ip=getattr(peer, "host", "unknown"),
            is_tls=uses_tls,
            is_loopback_listener=loopback,
            client_cert=peer_certificate(request.transport) if uses_tls else None,
        )

    return transport_info


def build_site(service: Service, reactor: Any) -> tuple[server.Site, HighwayResource]:
    """The Site serving every route through one HighwayResource (the contract route is added
    once the listening address, and so the advertised endpoint, is known)."""
    routes: dict[str, GetRoute] = {
        "/healthz": healthz_route,
        "/readyz": readyz_route(service.readiness),
        "/": service_page_route(service),  # ops/service_page.py: docs, samples, live board
    }
    resource = HighwayResource(
        service.pipeline,
        get_routes=routes,
        transport_info=transport_info_factory(service.settings),
        http_check=check_soap_post,
        get_limit=service.parts["rate_limiting"].ip_limit,  # also counts GET / and ?wsdl
        limited_get_paths=frozenset({"/", SOAP_PATH}),
    )
    site = server.Site(resource, reactor=reactor)
    install_front_door(site, service.settings.frontdoor)  # body cap, deadlines, idle timeout
    site.displayTracebacks = False
    site.noisy = False
    return site, resource


def listen(site: server.Site, settings: ServerSettings, reactor: Any) -> Any:
    """Start listening (TLS when configured); returns the listening port."""
    from soap_service.web.workers import adopt_inherited_port

    adopted = adopt_inherited_port(site, settings, reactor)  # a --workers child: parent's socket
    if adopted is not None:
        return adopted
    if settings.uses_tls:
        from soap_service.security.tls import server_tls_options

        return reactor.listenSSL(
            settings.core.port, cap_connections(site, settings.frontdoor),
            server_tls_options(settings.tls),
            interface=settings.core.host,
        )
    return reactor.listenTCP(
        settings.core.port, cap_connections(site, settings.frontdoor), interface=settings.core.host
    )


def serve(settings: ServerSettings) -> int:
    """Run the service until SIGTERM/SIGINT; in-flight requests finish before exit."""
    reactor = install_reactor()
    # A file-size limit (ulimit -f) must fail the write (SQLite: disk full -> 503), not kill us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    service = build_service(settings, reactor)
    site, resource = build_site(service, reactor)
    port = listen(site, settings, reactor)
    start_ops(service, resource, reactor)  # metrics listener, Redis readiness checks
    from soap_service.store.health import StoreMonitor

    monitor = StoreMonitor(service.store.engine, reactor)  # /readyz sees outages and recovery
    reactor.callWhenRunning(monitor.start)
    # With --port 0 the advertised endpoint needs the port actually bound.
    endpoint = settings.endpoint_url(port.getHost().port)
    resource.add_get_route(SOAP_PATH, contract_route(endpoint))

    def drain() -> Any:
        log.info("shutting down: no new connections, waiting for in-flight requests")
        port.stopListening()
        waiting = resource.wait_idle()
        waiting.addTimeout(settings.core.shutdown_grace_seconds, reactor)
        waiting.addErrback(
            lambda _: log.warning("grace period over; exiting with requests in flight")
        )
        return waiting

    reactor.addSystemEventTrigger("before", "shutdown", drain)

    def close_store() -> Any:
        monitor.stop()
        return Deferred.fromFuture(asyncio.ensure_future(service.store.engine.close()))

    reactor.addSystemEventTrigger("after", "shutdown", close_store)
    bound = dataclasses.replace(settings.core, public_url=None)
    local = dataclasses.replace(settings, core=bound).endpoint_url(port.getHost().port)
    print(f"highway-server listening on {local} (advertised endpoint {endpoint}, "
          f"contract at {endpoint}?wsdl)", file=sys.stderr, flush=True)
    reactor.run()
    return 0
