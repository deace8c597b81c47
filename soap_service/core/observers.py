"""The one exit every answer leaves through: observers (access log, metrics) see each one.

Replies decided by the pipeline, answers of the GET routes, and refusals made before a
request reaches the pipeline (404/405/415 in the resource; 400/408/413/503 in the front door's
HTTP layer) are all handed to one ReplyExit, so no answer escapes the log and the metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from soap_service.core.exchange import Exchange, Reply
    from soap_service.faults import ServiceFault

log = logging.getLogger("highway.request")


class ExchangeObserver:
    """Sees every finished exchange (access log, metrics). Must be cheap and never raise."""

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        """Called once per exchange after its reply is decided."""


class ReplyExit:
    """Shows each answer to every observer, once; a broken observer never loses the reply."""

    def __init__(self, observers: Sequence[ExchangeObserver] = ()) -> None:
        self._observers = tuple(observers)

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        """Report one answer that is about to be sent."""
        for observer in self._observers:
            try:
                observer.completed(exchange, reply, fault)
            except Exception:  # noqa: BLE001 - a broken observer must not lose the reply
                log.exception("observer %s failed correlation_id=%s",
                              type(observer).__name__, exchange.correlation_id)
