"""The interface every check on the request path implements."""

from __future__ import annotations

from typing import Protocol

from soap_service.web.exchange import Exchange


class Stage(Protocol):
    """One check on the request path: returns to let the request go on, raises ServiceFault
    to refuse it. Stages run in the order the pipeline lists them and must not block the
    reactor (anything slow is awaited)."""

    name: str

    async def __call__(self, exchange: Exchange) -> None:
        """Inspect (and annotate) the exchange, or raise ServiceFault."""
        ...


class EnvelopeGuard(Protocol):
    """Turns the raw body into a parsed SOAP envelope, refusing hostile or malformed XML."""

    def parse(self, exchange: Exchange) -> None:
        """Set `exchange.envelope` to the parsed root element, or raise ServiceFault."""
        ...
