"""Running the server: the asyncio reactor, the Site, TCP or TLS listening, graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web import server

from soap_service.compat import twisted_http
from soap_service.core.exchange import TransportInfo
from soap_service.core.observers import ReplyExit
from soap_service.frontdoor.connection_caps import ConnectionCaps
from soap_service.frontdoor.forwarded import ProxyTrust, forwarding_headers, parse_network
from soap_service.frontdoor.http_checks import SOAP_PATH
from soap_service.frontdoor.http_layer import cap_connections, install_front_door
from soap_service.frontdoor.limited_request import stamped_request_factory
from soap_service.ops.service_page import service_page_route
from soap_service.security.build import is_loopback_host
from soap_service.settings import ServerSettings
from soap_service.settings_loader import ConfigError
from soap_service.store.network_watch import NetworkWatcher
from soap_service.store.retention import RetentionTask, WindowRefresher
from soap_service.web.assembly import Service, build_service
from soap_service.web.drain import Drainer
from soap_service.web.ops_wiring import start_ops
from soap_service.web.reload import ReloadableTLS, Reloader
from soap_service.web.resource import GetRoute, HighwayResource
from soap_service.web.routes import contract_route, healthz_route, readyz_route

log = logging.getLogger("highway.server")


class _Site(server.Site):
    """Twisted's Site without its own access log: ours (ops/access_log.py) already has a line
    for every answer, and Twisted's combined-format line cost a formatted string and a log
    event per request."""

    def log(self, request: Any) -> None:
        """No second access log."""


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
    proxies = ProxyTrust(parse_network(n) for n in settings.frontdoor.trusted_proxies)

    def transport_info(request: server.Request) -> TransportInfo:
        peer_ip = getattr(request.getClientAddress(), "host", "unknown")
        caller = proxies.resolve(peer_ip, forwarding_headers(request))
        return TransportInfo(
            peer_ip=caller.ip,
            # A trusted proxy's word on the scheme counts; our own TLS always does.
            is_tls=uses_tls or bool(caller.tls),
            is_loopback_listener=loopback and caller.proxy_ip is None,
            client_cert=peer_certificate(request.transport) if uses_tls else None,
            proxy_ip=caller.proxy_ip,
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
        get_limit=service.parts["rate_limiting"].ip_limit,  # also counts GET / and ?wsdl
        limited_get_paths=frozenset({"/", SOAP_PATH}),
    )
    site = _Site(resource, reactor=reactor)
    # Body cap, deadlines, idle timeout; its refusals leave through the pipeline's exit.
    install_front_door(site, service.settings.frontdoor, service.pipeline.exit)
    if service.pipeline.timer is not None:  # --stage-timing: requests note their creation
        site.requestFactory = stamped_request_factory(site.requestFactory,
                                                      service.pipeline.timer.clock)
    site.displayTracebacks = False
    site.noisy = False
    return site, resource


class ListenError(ConfigError):
    """A listening socket cannot be bound (port taken, address not local); one clear line."""


def bind_socket(host: str, port: int, what: str) -> socket.socket:
    """Bind and listen on host:port now (before any other start-up work); ListenError if not.

    `what` names the settings, e.g. "--host/--port", for the error line.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
        raise ListenError(f"cannot listen on {shown}:{port} ({what}): "
                          f"{exc.strerror or exc}") from None
    sock.setblocking(False)  # the reactor expects a non-blocking listening socket
    return sock


def _soap_factory(site: server.Site, settings: ServerSettings, tls: ReloadableTLS | None,
                  reply_exit: ReplyExit | None = None) -> tuple[Any, ConnectionCaps]:
    """The factory to accept with (TLS-wrapped when configured) and the connection caps in it."""
    caps = cap_connections(site, settings.frontdoor, reply_exit)
    if tls is None:
        return caps, caps
    from twisted.protocols.tls import TLSMemoryBIOFactory

    # zope interfaces are invisible to mypy; both objects provide what Twisted asks for.
    creator: Any = tls
    wrapped: Any = caps
    return TLSMemoryBIOFactory(creator, False, wrapped), caps


def adopt(sock: socket.socket, factory: Any, reactor: Any) -> Any:
    """Let the reactor accept on an already listening socket; returns the listening port."""
    port = reactor.adoptStreamPort(sock.fileno(), sock.family, factory)
    sock.close()  # the reactor holds its own duplicate
    return port


def serve(
    settings: ServerSettings,
    reload_settings: Callable[[], ServerSettings] | None = None,
) -> int:
    """Run the service until SIGTERM/SIGINT, then drain (web/drain.py); SIGHUP reloads.

    Start-up order: the listening sockets (SOAP and metrics) are bound first, so a busy port
    is reported before the database is touched or a demo account is created. Returns the exit
    code: 0 after a complete drain, 1 if the grace period ran out with requests in flight.
    """
    from soap_service.web.ops_wiring import metrics_port_for
    from soap_service.web.workers import inherited_socket

    reactor = install_reactor()
    # A file-size limit (ulimit -f) must fail the write (SQLite: disk full -> 503), not kill us.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    sock = inherited_socket()  # a --workers child: the parent's socket
    if sock is None:
        sock = bind_socket(settings.core.host, settings.core.port, "--host/--port")
    metrics_sock = None
    metrics_port = metrics_port_for(settings)
    if metrics_port is not None:
        metrics_sock = bind_socket(
            settings.ops.metrics_host, metrics_port, "--metrics-host/--metrics-port"
        )
    tls = ReloadableTLS(settings.tls) if settings.uses_tls else None
    # database, migrations, demo account (its export line names the port actually bound)
    service = build_service(settings, reactor, bound_port=sock.getsockname()[1])
    site, resource = build_site(service, reactor)
    factory, caps = _soap_factory(site, settings, tls, service.pipeline.exit)
    port = adopt(sock, factory, reactor)
    start_ops(service, resource, reactor, metrics_socket=metrics_sock)
    from soap_service.store.health import StoreMonitor

    monitor = StoreMonitor(service.store.engine, reactor)  # /readyz sees outages and recovery
    reactor.callWhenRunning(monitor.start)
    # A network imported on any machine is served without a restart (store/network_watch.py).
    watcher = NetworkWatcher(service.store, reactor, settings.core.network_check_seconds or 1.0,
                             on_change=service.parts["response_cache"].clear)
    if settings.core.network_check_seconds > 0:
        reactor.callWhenRunning(watcher.start)
    retention = RetentionTask(service.store, reactor)  # deletes expired observations
    if service.store.retention is not None:
        reactor.callWhenRunning(retention.start)
    refresher = WindowRefresher(service.store, reactor)  # speed windows stay current
    reactor.callWhenRunning(refresher.start)
    # With --port 0 the advertised endpoint needs the port actually bound.
    endpoint = settings.endpoint_url(port.getHost().port)
    resource.add_get_route(SOAP_PATH, contract_route(endpoint))

    drainer = Drainer(
        reactor,
        ports=[port],
        connections=lambda: list(caps.protocols),
        in_flight=lambda: resource.in_flight,
        grace_seconds=settings.core.shutdown_grace_seconds,
    )

    def drain() -> Any:
        resource.draining = True
        return drainer.start()

    reactor.addSystemEventTrigger("before", "shutdown", drain)

    def close_store() -> Any:
        monitor.stop()
        watcher.stop()
        retention.stop()
        refresher.stop()
        return Deferred.fromFuture(asyncio.ensure_future(service.store.engine.close()))

    reactor.addSystemEventTrigger("after", "shutdown", close_store)
    # SIGHUP: TLS material, the log level, and the network (read off the reactor thread).
    reloader = Reloader(settings, reload_settings, tls=tls, reload_network=watcher.reload_soon)
    _install_signal_handlers(reactor, reloader)
    local = settings.listener_url(port.getHost().port)
    print(f"highway-server listening on {local} (advertised endpoint {endpoint}, "
          f"contract at {endpoint}?wsdl)", file=sys.stderr, flush=True)
    settle_heap()
    reactor.run(installSignalHandlers=False)
    return 0 if drainer.clean is not False else 1


def settle_heap() -> None:
    """Put what the process built at start out of the garbage collector's sight.

    Spyne's model, the contract's schemas, the network and the libraries live as long as the
    process; every full collection used to walk them all, stopping the reactor ~30-60 ms
    every second or two under load (every request in flight then waited). Frozen, a full
    collection only walks what requests created since (gc.freeze, Python >= 3.7)."""
    gc.collect()
    gc.freeze()


def _install_signal_handlers(reactor: Any, reloader: Reloader) -> None:
    """SIGTERM/SIGINT: drain once (a repeated signal is logged, not fatal); SIGHUP: reload."""
    stopping = {"yes": False}

    def stop(signum: int) -> None:
        name = signal.Signals(signum).name
        if stopping["yes"]:
            log.info("%s again: still draining (at most --shutdown-grace)", name)
            return
        stopping["yes"] = True
        log.info("%s: draining", name)
        reactor.stop()

    def hangup() -> None:
        reloader.reload()

    loop = twisted_http.asyncio_loop(reactor)
    if loop is not None:
        loop.add_signal_handler(signal.SIGTERM, stop, signal.SIGTERM)
        loop.add_signal_handler(signal.SIGINT, stop, signal.SIGINT)
        loop.add_signal_handler(signal.SIGHUP, hangup)
        return
    signal.signal(signal.SIGTERM, lambda s, _f: reactor.callFromThread(stop, s))
    signal.signal(signal.SIGINT, lambda s, _f: reactor.callFromThread(stop, s))
    signal.signal(signal.SIGHUP, lambda _s, _f: reactor.callFromThread(hangup))
