"""A hardened parse of the request body into a SOAP 1.1 envelope (the baseline guard)."""

from __future__ import annotations

from lxml import etree

from soap_service import faults
from soap_service.faults import ServiceFault, truncate_fragment
from soap_service.web.exchange import Exchange

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_pis=False
)


class SafeEnvelopeParser:
    """Parses with entity resolution, network and DTD loading off and checks the root.

    The front door's XmlGuard replaces this with the full set of pre-parse checks; this
    baseline already refuses anything that is not a SOAP 1.1 envelope.
    """

    def parse(self, exchange: Exchange) -> None:
        """Set exchange.envelope or raise a Client fault."""
        try:
            root = etree.fromstring(exchange.body, _PARSER)
        except etree.XMLSyntaxError as exc:
            raise ServiceFault(
                faults.CLIENT_XML_SYNTAX, "Malformed XML: " + truncate_fragment(str(exc), 120)
            ) from None
        if root.tag == f"{{{faults.SOAP12_ENV_NS}}}Envelope":
            raise ServiceFault(faults.VERSION_MISMATCH, "Only SOAP 1.1 envelopes are accepted.")
        if root.tag != f"{{{faults.SOAP11_ENV_NS}}}Envelope":
            raise ServiceFault(faults.CLIENT, "The document is not a SOAP 1.1 envelope.")
        exchange.envelope = root
