"""The interface every check on the request path implements."""

from __future__ import annotations

from typing import Any, Protocol

from soap_service.core.exchange import Exchange


class Stage(Protocol):
    """One check on the request path: returns to let the request go on, raises ServiceFault
    to refuse it. Stages run in the order the pipeline lists them and must not block the
    reactor (anything slow is awaited)."""

    async def __call__(self, exchange: Exchange) -> None:
        """Inspect (and annotate) the exchange, or raise ServiceFault."""
        ...


class EnvelopeGuard(Protocol):
    """Turns the raw body into a parsed SOAP envelope, refusing hostile or malformed XML."""

    def parse(self, exchange: Exchange) -> None:
        """Set `exchange.envelope` to the parsed root element, or raise ServiceFault."""
        ...


class OperationRunner(Protocol):
    """Validates and dispatches the parsed Body, then runs the operation (soap/runner.py)."""

    def prepare(self, exchange: Exchange) -> Any:
        """Schema-validate and dispatch; return what `run` needs, or raise ServiceFault."""
        ...

    async def run(self, exchange: Exchange, prepared: Any) -> bytes:
        """Run the operation after the security stages; return the response envelope."""
        ...
