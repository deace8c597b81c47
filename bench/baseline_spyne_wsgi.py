"""Baseline B: the contract as a plain Spyne application behind Twisted's WSGI adapter.

What a user would write by hand: our Spyne service model over the same store, Spyne's own
SOAP 1.1 protocol with lxml validation, `spyne.server.wsgi.WsgiApplication` inside
`twisted.web.wsgi.WSGIResource` on the reactor's thread pool. No front door, no security,
no rate limits, no response cache.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from spyne import Application
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from twisted.web import server
from twisted.web.wsgi import WSGIResource

from soap_service.soap import types as t
from soap_service.soap.service import build_service
from soap_service.store import database
from soap_service.store.traffic_store import TrafficStore


class ThreadStore:
    """One TrafficStore (one SQLite connection) per WSGI thread, as a hand-written app would."""

    def __init__(self, db_path: str) -> None:
        self._db_path = db_path
        self._local = threading.local()

    def _store(self) -> TrafficStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = TrafficStore(database.connect(self._db_path))
        return store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store(), name)


def build_wsgi_app(db_path: str) -> WsgiApplication:
    """The plain Spyne WSGI application over the database at `db_path`."""
    store: Any = ThreadStore(db_path)
    app = Application(
        [build_service(store)],
        tns=t.NS,
        name="HighwayTraffic",
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    return WsgiApplication(app)


def main(argv: list[str] | None = None) -> int:
    """Serve the plain Spyne application on 127.0.0.1:PORT/soap until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    from soap_service.web.listener import install_reactor

    reactor: Any = install_reactor()
    wsgi = WSGIResource(reactor, reactor.getThreadPool(), build_wsgi_app(args.db))
    site = server.Site(wsgi, reactor=reactor)
    site.noisy = False
    port = reactor.listenTCP(args.port, site, interface="127.0.0.1")
    print(f"spyne-wsgi listening on http://127.0.0.1:{port.getHost().port}/soap",
          file=sys.stderr, flush=True)
    reactor.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
