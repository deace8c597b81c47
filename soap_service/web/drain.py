"""Graceful shutdown that delivers: stop accepting, let every request in flight finish, flush
every response, close keep-alive connections after their current response, then stop.

Why more than "wait until no request is in flight": a reply handed to the transport is only
in its write buffer; the reactor's shutdown disconnects every connection at once, and bytes
still buffered are lost (the client sees an empty reply while the batch was committed). So the
drain waits until every connection has *closed* (a closing transport writes out its buffer
first), and a request still arriving (headers or body on the wire) counts as in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred

from soap_service.compat import twisted_http

log = logging.getLogger("highway.server")

POLL_SECONDS = 0.02


def channel_of(wrapper: Any) -> Any:
    """The HTTP channel inside a connection-caps wrapper (or the object itself)."""
    return getattr(wrapper, "wrappedProtocol", wrapper)


def is_idle(channel: Any) -> bool:
    """True when the connection holds no request: none being received, handled or answered.

    Twisted's HTTPChannel appends a Request to `requests` as soon as a request line is
    parsed and removes it once the response is finished; a partial request line sits in the
    LineReceiver buffer, pipelined bytes received during a request in the channel's pipelining
    buffer (both read through compat/twisted_http.py).
    """
    if getattr(channel, "requests", None):
        return False
    return not twisted_http.has_partial_input(channel)


class Drainer:
    """Runs the shutdown drain for one process (see the module docstring)."""

    def __init__(
        self,
        reactor: Any,
        *,
        ports: Sequence[Any],
        connections: Callable[[], Sequence[Any]],
        in_flight: Callable[[], int],
        grace_seconds: float,
    ) -> None:
        self._reactor = reactor
        self._ports = list(ports)
        self._connections = connections
        self._in_flight = in_flight
        self._grace = grace_seconds
        self.draining = False
        self.clean: bool | None = None  # None until the drain ends; False if grace ran out

    def start(self) -> Deferred[None]:
        """Begin draining; the Deferred fires when every connection has closed (or at grace)."""
        self.draining = True
        for port in self._ports:
            _accept_backlog(port)  # connections already queued in the kernel get served too
            port.stopListening()
        log.info("shutting down: no new connections; %d open, %d requests in flight",
                 len(self._connections()), self._in_flight())
        done: Deferred[None] = Deferred()
        deadline = self._reactor.seconds() + self._grace

        def poll() -> None:
            connections = self._connections()
            for wrapper in connections:
                channel = channel_of(wrapper)
                if is_idle(channel) and not getattr(channel, "_drain_closing", False):
                    channel._drain_closing = True  # idle keep-alive: nothing to finish
                    _close(channel)
                else:
                    # Whatever response comes next is this connection's last one.
                    channel.persistent = False
            if not connections and self._in_flight() == 0:
                self.clean = True
                log.info("drained: every request answered, every connection closed")
                done.callback(None)
                return
            if self._reactor.seconds() >= deadline:
                self.clean = False
                log.warning(
                    "grace period over (%.1f s): exiting with %d connections open and %d "
                    "requests in flight", self._grace, len(connections), self._in_flight(),
                )
                for wrapper in connections:
                    transport = getattr(wrapper, "transport", None)
                    if transport is not None:
                        transport.abortConnection()
                done.callback(None)
                return
            self._reactor.callLater(POLL_SECONDS, poll)

        poll()
        return done


def _accept_backlog(port: Any) -> None:
    """Accept the connections the kernel completed before we stop listening (else: reset)."""
    do_read = getattr(port, "doRead", None)
    if do_read is not None and getattr(port, "connected", False):
        try:
            do_read()
        except Exception:  # noqa: BLE001 - best effort; stopping must go on
            log.exception("accepting the last queued connections failed")


def _close(channel: Any) -> None:
    lose = getattr(channel, "loseConnection", None)
    if lose is not None and getattr(channel, "transport", None) is not None:
        lose()
