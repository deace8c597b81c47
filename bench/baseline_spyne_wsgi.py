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
from soap_service.soap.service import OperationLoader, build_service
from soap_service.store import database
from soap_service.store.traffic_store import TrafficStore, load_network


class InlineSqliteEngine:
    """The store's engine interface run inline on the calling WSGI thread, one SQLite
    connection per thread, as a hand-written synchronous app would do (no thread hop)."""

    kind = "sqlite"

    def __init__(self, db_path: str) -> None:
        self._db_path = db_path
        self._local = threading.local()

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = database.open_sqlite(self._db_path)
        return conn

    async def fetchall(self, sql: str, params: Any = ()) -> list[Any]:
        return list(self._conn().execute(sql, tuple(params)).fetchall())

    async def fetchone(self, sql: str, params: Any = ()) -> Any:
        return self._conn().execute(sql, tuple(params)).fetchone()

    async def transaction(self, steps: Any) -> list[int]:
        conn = self._conn()
        counts = []
        with database.transaction(conn):
            for sql, params, many in steps:
                before = conn.total_changes
                if many:
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, tuple(params))
                counts.append(conn.total_changes - before)
        return counts


def _run_inline(coroutine: Any) -> None:
    """Drive a coroutine that never suspends (InlineSqliteEngine's never do)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise RuntimeError("the inline store suspended")


def build_wsgi_app(db_path: str) -> WsgiApplication:
    """The plain Spyne WSGI application over the database at `db_path`."""
    conn = database.connect(db_path)
    network = load_network(conn)
    conn.close()
    store: Any = TrafficStore(InlineSqliteEngine(db_path), network)  # type: ignore[arg-type]
    loader = OperationLoader(store)
    app = Application(
        [build_service(store)],
        tns=t.NS,
        name="HighwayTraffic",
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    # The operations take their data from ctx.udc, filled here on the WSGI thread.
    app.event_manager.add_listener("method_call", lambda ctx: _run_inline(loader(ctx)))
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
