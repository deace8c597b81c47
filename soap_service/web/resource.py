"""The twisted.web resource: routes GETs, and hands SOAP POSTs to the pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from twisted.internet.defer import Deferred
from twisted.web import resource, server

from soap_service import faults
from soap_service.core.errors import DependencyUnavailable
from soap_service.core.exchange import Exchange, Reply, TransportInfo
from soap_service.core.pipeline import Pipeline, fault_reply
from soap_service.core.stages import Stage
from soap_service.faults import ServiceFault
from soap_service.frontdoor.http_checks import check_soap_request

log = logging.getLogger("highway.http")

# (method, path, lower-cased headers, the GET routes' paths) -> None, or a ServiceFault raised.
HttpCheck = Callable[[str, str, dict[str, str], frozenset[str]], None]
# After the last in-flight reply is handed to its transport, before shutdown may proceed.
FLUSH_GRACE_SECONDS = 0.1
# A GET route answers given the names in the request's query string (`?wsdl` -> {"wsdl"}).
# A route may return an awaitable (it then runs as a task, e.g. to read the database).
GetRoute = Callable[[frozenset[str]], "Reply | Awaitable[Reply]"]


class HighwayResource(resource.Resource):
    """The single leaf resource: every path is routed here, so every answer is ours."""

    isLeaf = True

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        get_routes: dict[str, GetRoute],
        transport_info: Callable[[server.Request], TransportInfo],
        http_check: HttpCheck = check_soap_request,
        get_limit: Stage | None = None,
        limited_get_paths: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self._pipeline = pipeline
        self._get_routes = get_routes
        self._transport_info = transport_info
        self._http_check = http_check
        self._exit = pipeline.exit
        # The per-IP rate limit also counts these GETs (the service page, the contract), so an
        # anonymous loop on them is refused like one on POST /soap; probes stay unlimited.
        self._get_limit = get_limit
        self._limited_get_paths = limited_get_paths
        self.in_flight = 0
        # Set by the shutdown drain (web/drain.py): every answer from then on closes its
        # connection, so keep-alive clients move to another server.
        self.draining = False
        self._idle_waiters: list[Deferred[None]] = []
        self._tasks: set[asyncio.Future[None]] = set()

    def render(self, request: server.Request) -> Any:
        """Route by method and path; anything unknown gets a SOAP-fault body, never HTML.

        Every answer, the GET routes' and the refusals here included, leaves through the
        pipeline's exit (`self._exit`), so the access log and the metrics see all of them."""
        exchange = Exchange(
            correlation_id=faults.new_correlation_id(),
            method=request.method.decode("ascii", "replace"),
            path=request.path.decode("utf-8", "replace"),
            headers=_headers(request),
            body=request.content.read() if request.content is not None else b"",
            transport=self._transport_info(request),
        )
        if exchange.method in ("GET", "HEAD") and exchange.path in self._get_routes:
            return self._answer_get(request, exchange)
        try:
            # The one routing and media-type check (404, 405 with Allow, 415).
            self._http_check(exchange.method, exchange.path, exchange.headers,
                             frozenset(self._get_routes))
        except ServiceFault as fault:
            return self._send_now(request, exchange, fault_reply(fault, exchange), fault)
        return self._dispatch(request, exchange)

    def _send_now(self, request: server.Request, exchange: Exchange, reply: Reply,
                  fault: ServiceFault | None) -> bytes:
        """Report a reply decided synchronously, and return its body for twisted.web."""
        self._exit.completed(exchange, reply, fault)
        return self._write(request, reply)

    def _answer_get(self, request: server.Request, exchange: Exchange) -> Any:
        """Serve a GET route: counted by the per-IP limit where configured, awaited when the
        route reads the database; refusals and outages become faults."""
        route = self._get_routes[exchange.path]
        names = _query_names(request.uri)
        limit = self._get_limit if exchange.path in self._limited_get_paths else None
        if limit is None:
            answer = route(names)
            if not inspect.isawaitable(answer):
                return self._send_now(request, exchange, _tagged(answer, exchange), None)

        async def respond() -> None:
            fault: ServiceFault | None = None
            try:
                if limit is not None:
                    await limit(exchange)
                routed = route(names)
                reply = await routed if inspect.isawaitable(routed) else routed
                reply = _tagged(reply, exchange)
            except ServiceFault as exc:
                fault = exc
            except DependencyUnavailable as exc:  # the database behind the service page
                fault = exc.as_fault()
            except Exception:  # noqa: BLE001 - a bug must still end the request with a fault
                log.exception("GET %s failed cid=%s", exchange.path, exchange.correlation_id)
                fault = ServiceFault(faults.SERVER, "The service could not answer.",
                                     reason="unhandled")
            finally:
                self._tasks.discard(asyncio.current_task())
            if fault is not None:
                reply = fault_reply(fault, exchange)
            self._exit.completed(exchange, reply, fault)
            if not gone["gone"]:
                request.write(self._write(request, reply))
                request.finish()

        gone = {"gone": False}
        request.notifyFinish().addErrback(lambda _: gone.update(gone=True))
        self._tasks.add(asyncio.ensure_future(respond()))
        return server.NOT_DONE_YET

    def _dispatch(self, request: server.Request, exchange: Exchange) -> Any:
        self.in_flight += 1
        timer = self._pipeline.timer
        if timer is not None:  # --stage-timing: the front door runs from the request's creation
            exchange.timing = timer.start(getattr(request, "created_ns", None))
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
            if self.in_flight == 0 and self._idle_waiters:
                waiters, self._idle_waiters = self._idle_waiters, []
                # The last reply is still in the transport's buffer: give the loop a moment to
                # send it before shutdown closes the connections.
                loop = asyncio.get_running_loop()
                for waiter in waiters:
                    loop.call_later(FLUSH_GRACE_SECONDS, waiter.callback, None)

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


def _tagged(reply: Reply, exchange: Exchange) -> Reply:
    """A GET route's reply with the headers the stages set (RateLimit-*) and the correlation
    id that its access-log line carries."""
    return dataclasses.replace(reply, headers=(
        *reply.headers, *exchange.response_headers,
        ("X-Correlation-ID", exchange.correlation_id)))


def _reason_phrase(status: int) -> bytes:
    """The standard reason phrase (Twisted says "Unknown Status" for 429)."""
    try:
        return HTTPStatus(status).phrase.encode("ascii")
    except ValueError:
        return b"Status"


def _query_names(uri: bytes) -> frozenset[str]:
    """Names in the query string, including bare ones like `wsdl` that parse_qs drops, and
    each `name=value` item whole (lower-cased), e.g. {"page", "page=2"} for `?page=2`."""
    _, _, query = uri.partition(b"?")
    parts = [part.decode("latin-1").lower() for part in query.split(b"&") if part]
    return frozenset([*(part.split("=", 1)[0] for part in parts),
                      *(part for part in parts if "=" in part)])


def _headers(request: server.Request) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        key = name.decode("latin-1").lower()
        result[key] = ", ".join(v.decode("latin-1") for v in values)
    return result
