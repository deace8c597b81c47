"""Connection caps: open connections per peer address and in total. A connection over a cap
is answered 503 with a SOAP Fault and closed at once; established connections are untouched."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from zope.interface import implementer

from soap_service import faults
from soap_service.core.observers import ReplyExit
from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal import ABORT_AFTER_SECONDS, abort_if_connected, write_refusal


def too_many_from_peer() -> ServiceFault:
    """503 for a peer address that already holds its share of connections."""
    return ServiceFault(
        faults.CLIENT_TOO_MANY_CONNECTIONS,
        "Too many open connections from your address.",
        reason="per-ip connection cap",
    )


def server_full() -> ServiceFault:
    """503 when the service holds as many connections as it takes in total."""
    return ServiceFault(
        faults.SERVER_OVERLOADED,
        "The service is at its connection limit; retry shortly.",
        reason="total connection cap",
    )


class _Refuser(Protocol):
    """Serves one connection over a cap: the 503 fault, then close (abort if never read)."""

    def __init__(self, fault: ServiceFault, call_later: Any,
                 reply_exit: ReplyExit | None = None) -> None:
        self._fault = fault
        self._call_later = call_later
        self._exit = reply_exit
        self._abort_call: Any = None

    def connectionMade(self) -> None:
        transport: Any = self.transport
        write_refusal(transport, self._fault, self._exit)
        transport.loseConnection()
        if self._call_later is not None:
            self._abort_call = self._call_later(ABORT_AFTER_SECONDS, abort_if_connected, transport)

    def dataReceived(self, data: bytes) -> None:
        """Whatever the peer sends is ignored."""

    def connectionLost(self, reason: Any = None) -> None:
        if self._abort_call is not None and self._abort_call.active():
            self._abort_call.cancel()


@implementer(IHalfCloseableProtocol)
class _Counted(ProtocolWrapper):
    """A connection within the caps; it frees its slot when it goes.

    Half-close is passed through (ProtocolWrapper does not), so a peer that shuts down its
    sending side after a request still gets the answer from the HTTP channel."""

    peer_host = "unknown"

    def readConnectionLost(self) -> None:
        """Forward the peer's half-close; a protocol that cannot half-close is closed."""
        inner: Any = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if inner is not None:
            inner.readConnectionLost()
        else:
            transport: Any = self.transport
            if transport is not None:
                transport.loseConnection()

    def writeConnectionLost(self) -> None:
        """Forward the loss of our sending side."""
        inner: Any = IHalfCloseableProtocol(self.wrappedProtocol, None)
        if inner is not None:
            inner.writeConnectionLost()
        else:
            transport: Any = self.transport
            if transport is not None:
                transport.loseConnection()


class ConnectionCaps(WrappingFactory):
    """Wraps the HTTP factory (the Site) and counts its connections by peer address.

    Use it in place of the Site: `reactor.listenTCP(port, ConnectionCaps(site, ...))` (with
    listenSSL, TLS wraps this factory, so the 503 is sent once the handshake is done).
    """

    protocol = _Counted

    def __init__(self, wrapped: Any, *, max_total: int, max_per_peer: int,
                 call_later: Any = None, uncapped_peer: Callable[[str], bool] | None = None,
                 reply_exit: ReplyExit | None = None) -> None:
        super().__init__(wrapped)
        self.max_total = max_total
        self.max_per_peer = max_per_peer
        # A trusted balancer carries every client's connections: only the total cap holds it.
        self._uncapped_peer = uncapped_peer or (lambda _host: False)
        self._exit = reply_exit
        reactor = getattr(wrapped, "reactor", None)
        self._call_later = call_later or getattr(reactor, "callLater", None)
        self.total = 0
        self.per_peer: dict[str, int] = {}

    def buildProtocol(self, addr: Any) -> Any:
        """A counted wrapper of the Site's protocol, or a refuser when a cap is reached."""
        host = str(getattr(addr, "host", "local"))
        if self.total >= self.max_total:
            return _Refuser(server_full(), self._call_later, self._exit)
        if self.per_peer.get(host, 0) >= self.max_per_peer and not self._uncapped_peer(host):
            return _Refuser(too_many_from_peer(), self._call_later, self._exit)
        wrapper: Any = super().buildProtocol(addr)
        wrapper.peer_host = host
        # Counted now, not at connectionMade, so a burst of accepts cannot overshoot.
        self.total += 1
        self.per_peer[host] = self.per_peer.get(host, 0) + 1
        return wrapper

    def unregisterProtocol(self, p: Any) -> None:
        """A counted connection has gone: free its slot."""
        super().unregisterProtocol(p)
        self.total -= 1
        host = p.peer_host
        left = self.per_peer.get(host, 1) - 1
        if left > 0:
            self.per_peer[host] = left
        else:
            self.per_peer.pop(host, None)
