"""Spyne SOAP 1.1 protocol: takes our pre-checked envelope, validates against the contract."""

from __future__ import annotations

from typing import Any

from spyne.protocol.soap import Soap11

from soap_service.contract.contract import validation_schema


class HighwaySoap11(Soap11):
    """Soap11 that never parses bytes itself and validates Bodies with the checked-in XSD.

    The front door has already parsed the request with a hardened parser and enforced the
    envelope rules; re-parsing would double the cost and reopen what the guard closed. Spyne's
    own validation schema is generated from the model; ours is the contract stubs are built
    from, so what we enforce is exactly what we publish.
    """

    def set_app(self, value: Any) -> None:
        """Attach to the application, then swap in the contract's schema."""
        super().set_app(value)
        if value is not None:
            self.validation_schema = validation_schema()

    def create_in_document(self, ctx: Any, charset: str | None = None) -> None:
        """Use the envelope the front door parsed; xmlids None disables SOAP-encoding hrefs."""
        ctx.in_document = (ctx.transport.envelope, None)
