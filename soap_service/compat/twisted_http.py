"""Twisted's HTTPChannel internals that the front door and the drain rely on, in one place.

Relied on (tested in tests/compat/test_compat.py):
- `HTTPChannel._send100Continue()`: overridden so a refused request is never invited to send
  its body (FrontDoorChannel).
- `HTTPChannel._handlingRequest`: True while a request is being answered; the channel then only
  buffers new bytes, in `_dataBuffer` (a list of bytes).
- `LineReceiver._buffer`: bytes of a request line or header line not yet complete.
- `HTTPChannel._respondToBadRequestAndDisconnect()`: called when Twisted's parser refuses the
  framing; overridden to answer with a SOAP fault.
- `HTTPChannel._waitingForTransport` (the transport paused us: its send buffer is full),
  `_networkProducer` (the transport as a push producer), `_savedTimeOut` (the idle timeout
  while it is suspended during a request), `_optimisticEagerReadSize` (how many buffered
  pipelined bytes Twisted tolerates before it stops reading).
"""

from __future__ import annotations

from typing import Any

from twisted.web.http import HTTPChannel

from soap_service.compat import require

TESTED_RANGE = ("26.10", "27")  # lowest tested, first untested
TWISTED_VERSION = require("twisted", *TESTED_RANGE)

SEND_100_CONTINUE = "_send100Continue"  # the private hook FrontDoorChannel overrides
RESPOND_BAD_REQUEST = "_respondToBadRequestAndDisconnect"  # overridden too
for _hook in (SEND_100_CONTINUE, RESPOND_BAD_REQUEST):
    if not callable(getattr(HTTPChannel, _hook, None)):  # pragma: no cover
        raise ImportError(f"twisted {TWISTED_VERSION}: HTTPChannel.{_hook} is gone")


def handling_request(channel: Any) -> bool:
    """True while the channel is answering a request (new bytes are then only buffered)."""
    return bool(getattr(channel, "_handlingRequest", False))


def set_handling_request(channel: Any, value: bool) -> None:
    """Mark the channel as (not) answering a request, as HTTPChannel.requestDone does."""
    channel._handlingRequest = value


def buffered_pipelined_bytes(channel: Any) -> int:
    """How many received bytes wait in the channel's pipelining buffer."""
    return sum(map(len, getattr(channel, "_dataBuffer", None) or ()))


def take_pipelined(channel: Any) -> bytes:
    """Remove and return the bytes waiting in the channel's pipelining buffer."""
    data = b"".join(getattr(channel, "_dataBuffer", None) or ())
    channel._dataBuffer = []
    return data


def has_partial_input(channel: Any) -> bool:
    """True when the channel holds received bytes no request has consumed yet: part of a
    request or header line, or pipelined requests waiting behind the current one."""
    return bool(getattr(channel, "_buffer", b"")) or buffered_pipelined_bytes(channel) > 0


def waiting_for_transport(channel: Any) -> bool:
    """True while the transport has paused the channel (its send buffer is full)."""
    return bool(channel._waitingForTransport)


def network_producer(channel: Any) -> Any:
    """The channel's transport as a push producer (pause/resume reading the socket)."""
    return channel._networkProducer


def saved_idle_timeout(channel: Any) -> float | None:
    """The idle timeout HTTPChannel suspended while a request is handled (None if none)."""
    return channel._savedTimeOut


def eager_read_size(channel: Any) -> int:
    """How many buffered pipelined bytes Twisted lets a channel hold before it stops reading."""
    return int(channel._optimisticEagerReadSize)


def asyncio_loop(reactor: Any) -> Any:
    """The asyncio event loop under Twisted's asyncio reactor, or None for any other reactor."""
    return getattr(reactor, "_asyncioEventloop", None)
