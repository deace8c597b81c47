"""Load shedding: a cap on SOAP requests in flight in this process; past it, 503 at once."""

from __future__ import annotations

from soap_service import faults
from soap_service.core.exchange import Exchange, Reply
from soap_service.core.observers import ExchangeObserver
from soap_service.core.stage_timing import FRONT_DOOR
from soap_service.faults import ServiceFault

NOTE_KEY = "in_flight_slot"  # exchange.notes[NOTE_KEY] is True while the exchange holds a slot


class InFlightLimit:
    """Counts exchanges between this stage and their completion; refuses past `limit`.

    The slot is released by `release(exchange)` (idempotent, a no-op for an exchange that holds
    none), which the InFlightRelease observer calls when the pipeline has decided the reply; the
    pipeline decides one for every exchange, also when the client has gone meanwhile (its reply
    is then not written). Only SOAP requests pass this stage: GET routes and health checks are
    never counted."""

    timing_stage = FRONT_DOOR  # --stage-timing: load shedding is part of the front door

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the in-flight limit must be at least 1")
        self.limit = limit
        self.in_flight = 0
        self.shed_count = 0  # refusals, for metrics

    async def __call__(self, exchange: Exchange) -> None:
        """Take a slot or refuse with Server.Overloaded (503, Retry-After)."""
        if self.in_flight >= self.limit:
            self.shed_count += 1
            raise ServiceFault(
                faults.SERVER_OVERLOADED,
                "The service is overloaded; retry after the number of seconds in Retry-After.",
                reason=f"{self.in_flight} requests in flight (limit {self.limit})",
                label="in_flight",
            )
        self.in_flight += 1
        exchange.notes[NOTE_KEY] = True

    def release(self, exchange: Exchange) -> None:
        """Give the exchange's slot back, once; a no-op if it holds none."""
        if exchange.notes.pop(NOTE_KEY, False):
            self.in_flight -= 1


class InFlightRelease(ExchangeObserver):
    """Releases the in-flight slot when the pipeline has decided the reply."""

    def __init__(self, limit: InFlightLimit) -> None:
        self._limit = limit

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        """See ExchangeObserver.completed."""
        self._limit.release(exchange)
