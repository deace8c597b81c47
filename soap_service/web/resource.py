"""The twisted.web resource: routes GETs, and hands SOAP POSTs to the pipeline."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web import resource, server

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.web.exchange import Exchange, Reply, TransportInfo
from soap_service.web.pipeline import Pipeline

log = logging.getLogger("highway.http")

SOAP_PATH = "/soap"
# A GET route answers given the names in the request's query string (`?wsdl` -> {"wsdl"}).
GetRoute = Callable[[frozenset[str]], Reply]


class HighwayResource(resource.Resource):
    """The single leaf resource: every path is routed here, so every answer is ours."""

    isLeaf = True

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        get_routes: dict[str, GetRoute],
        transport_info: Callable[[server.Request], TransportInfo],
        http_check: Callable[[str, str, dict[str, str]], None] | None = None,
    ) -> None:
        super().__init__()
        self._pipeline = pipeline
        self._get_routes = get_routes
        self._transport_info = transport_info
        self._http_check = http_check
        self.in_flight = 0
        # Set by the shutdown drain (web/drain.py): every answer from then on closes its
        # connection, so keep-alive clients move to another server.
        self.draining = False
        self._idle_waiters: list[Deferred[None]] = []
        self._tasks: set[asyncio.Future[None]] = set()

    def render(self, request: server.Request) -> Any:
        """Route by method and path; anything unknown gets a SOAP-fault body, never HTML."""
        method = request.method.decode("ascii", "replace")
        path = request.path.decode("utf-8", "replace")
        headers = _headers(request)
        correlation_id = faults.new_correlation_id()
        try:
            if method in ("GET", "HEAD") and path in self._get_routes:
                return self._write(request, self._get_routes[path](_query_names(request.uri)))
            if path == SOAP_PATH and method != "POST":
                raise _method_not_allowed("GET, HEAD, POST")
            if path != SOAP_PATH and path in self._get_routes:
                raise _method_not_allowed("GET, HEAD")
            if path != SOAP_PATH:
                raise ServiceFault(faults.CLIENT_NOT_FOUND, "No such resource.", http_status=404)
            if self._http_check is not None:
                self._http_check(method, path, headers)
        except ServiceFault as fault:
            reply = Reply(
                fault.http_status,
                faults.render_fault(fault, correlation_id),
                (*fault.headers, ("X-Correlation-ID", correlation_id)),
            )
            log.info("refused method=%s status=%d code=%s cid=%s",
                     method[:10], fault.http_status, fault.short_code, correlation_id)
            return self._write(request, reply)
        exchange = Exchange(
            correlation_id=correlation_id,
            method=method,
            path=path,
            headers=headers,
            body=request.content.read() if request.content is not None else b"",
            transport=self._transport_info(request),
        )
        return self._dispatch(request, exchange)

    def _dispatch(self, request: server.Request, exchange: Exchange) -> Any:
        self.in_flight += 1
        finished = {"gone": False}
        request.notifyFinish().addErrback(lambda _: finished.update(gone=True))
        # The reply is written from inside the task: a done-callback on it would cost one
        # more event-loop iteration (an epoll_wait) per request.
        # asyncio keeps only weak references to tasks: hold each until it ends.
        self._tasks.add(asyncio.ensure_future(self._respond(request, exchange, finished)))
        return server.NOT_DONE_YET

    async def _respond(
        self, request: server.Request, exchange: Exchange, finished: dict[str, bool]
    ) -> None:
        """Run the pipeline and send its reply, unless the client has gone meanwhile."""
        try:
            reply = await self._pipeline.handle(exchange)
            if not finished["gone"]:
                request.write(self._write(request, reply))
                request.finish()
        finally:
            self._tasks.discard(asyncio.current_task())
            self.in_flight -= 1
            if self.in_flight == 0:
                waiters, self._idle_waiters = self._idle_waiters, []
                for waiter in waiters:
                    waiter.callback(None)

    def _write(self, request: server.Request, reply: Reply) -> bytes:
        """Set status and headers; return the body for the caller to send."""
        request.setResponseCode(reply.status, _reason_phrase(reply.status))
        request.setHeader(b"Content-Type", reply.content_type.encode("ascii"))
        for name, value in reply.headers:
            request.responseHeaders.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"Content-Length", str(len(reply.body)).encode("ascii"))
        if self.draining:
            request.setHeader(b"Connection", b"close")
            channel = getattr(request, "channel", None)
            if channel is not None:
                channel.persistent = False  # Twisted closes after this response is written
        return b"" if request.method == b"HEAD" else reply.body

    def add_get_route(self, path: str, route: GetRoute) -> None:
        """Serve GET/HEAD `path` with `route`."""
        self._get_routes[path] = route

    def wait_idle(self) -> Deferred[None]:
        """Fires when no SOAP request is in flight (for graceful shutdown)."""
        if self.in_flight == 0:
            return Deferred.fromFuture(asyncio.ensure_future(asyncio.sleep(0)))
        waiter: Deferred[None] = Deferred()
        self._idle_waiters.append(waiter)
        return waiter


def _method_not_allowed(allow: str) -> ServiceFault:
    return ServiceFault(
        faults.CLIENT_METHOD_NOT_ALLOWED,
        f"Method not allowed here; allowed: {allow}.",
        http_status=405,
        headers=[("Allow", allow)],
    )


def _reason_phrase(status: int) -> bytes:
    """The standard reason phrase (Twisted says "Unknown Status" for 429)."""
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b"Status"


def _query_names(uri: bytes) -> frozenset[str]:
    """Names in the query string, including bare ones like `wsdl` that parse_qs drops."""
    _, _, query = uri.partition(b"?")
    names = (part.split(b"=", 1)[0] for part in query.split(b"&") if part)
    return frozenset(name.decode("latin-1").lower() for name in names)


def _headers(request: server.Request) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        key = name.decode("latin-1").lower()
        result[key] = ", ".join(v.decode("latin-1") for v in values)
    return result
