"""The EnvelopeGuard in front of Spyne: pre-parse checks, a safe lxml parse, shape limits and
SOAP 1.1 envelope rules, all ending in `exchange.envelope` or a ServiceFault."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from lxml import etree

from soap_service import faults
from soap_service.contract.contract import wsdl_bytes
from soap_service.core.exchange import Exchange
from soap_service.faults import ServiceFault, truncate_fragment
from soap_service.frontdoor.envelope_rules import (
    DEFAULT_UNDERSTOOD,
    body_operation,
    check_soap_action,
    soap_actions_from_wsdl,
)
from soap_service.frontdoor.http_checks import request_charset
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_limits import ShapeCheck, XmlLimits, limit_fault
from soap_service.frontdoor.xml_prolog import prepare_document

_ENTITY_ERRORS = frozenset(
    {
        etree.ErrorTypes.ERR_UNDECLARED_ENTITY,
        etree.ErrorTypes.WAR_UNDECLARED_ENTITY,
        etree.ErrorTypes.ERR_ENTITYREF_NO_NAME,
        etree.ErrorTypes.ERR_ENTITYREF_SEMICOL_MISSING,
    }
)


def safe_parser() -> etree.XMLParser:
    """A parser that never loads a DTD, resolves an entity, touches the network or a file.

    `encoding` is forced to UTF-8: the guard hands it UTF-8 only, and a declaration naming
    anything else (UTF-7...) must never be honoured. PIs and comments stay in the tree so the
    checks can see them.
    """
    return etree.XMLParser(
        encoding="utf-8",
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=False,
        # One reading of element text everywhere: lxml's .text stops at a comment while the
        # schema and exclusive C14N (the signature) see "5<!---->5.5" as "55.5". Dropping
        # comments at parse merges the text, so validation, the signature check, dispatch and
        # the store all read the same string (as JAXB/CXF do). Signatures stay valid: the only
        # canonicalization we accept is exclusive C14N without comments.
        remove_comments=True,
        remove_blank_text=False,
        collect_ids=False,
    )


def _syntax_fault(exc: etree.XMLSyntaxError) -> ServiceFault:
    """Map a libxml2 error to a stable fault; the message quotes at most a short fragment."""
    if exc.code in _ENTITY_ERRORS:
        return ServiceFault(
            faults.CLIENT_ENTITY_NOT_ALLOWED,
            "A SOAP message must not contain entity references.",
            reason="entity",
        )
    if exc.code == etree.ErrorTypes.ERR_RESOURCE_LIMIT and "depth" in str(exc):
        return limit_fault("depth", "nesting depth")
    if exc.code == etree.ErrorTypes.ERR_NAME_TOO_LONG:
        return limit_fault("name-length", "name length")
    return ServiceFault(
        faults.CLIENT_XML_SYNTAX,
        f"The request is not well-formed XML: {truncate_fragment(str(exc))}",
        reason="xml syntax",
    )


class XmlGuard:
    """Implements web.stages.EnvelopeGuard. Not thread-safe: one per reactor thread."""

    def __init__(
        self,
        limits: XmlLimits | None = None,
        *,
        understood_headers: Collection[str] = DEFAULT_UNDERSTOOD,
        soap_actions: Mapping[str, str] | None = None,
    ) -> None:
        """`understood_headers`: Clark names of header blocks processed downstream.
        `soap_actions`: SOAPAction -> Body element Clark name (default: the contract's)."""
        self._shape = ShapeCheck(limits or XmlLimits())
        self._understood = frozenset(understood_headers)
        if soap_actions is None:
            soap_actions = contract_soap_actions()
        self._actions = dict(soap_actions)
        self._parser = safe_parser()

    @classmethod
    def from_settings(cls, settings: FrontDoorSettings, **kwargs: object) -> XmlGuard:
        """A guard with the configured limits (keyword arguments as for the constructor)."""
        return cls(XmlLimits.from_settings(settings), **kwargs)  # type: ignore[arg-type]

    def parse(self, exchange: Exchange) -> None:
        """Set `exchange.envelope` to the checked root element, or raise ServiceFault."""
        data = prepare_document(exchange.body, request_charset(exchange.headers))
        try:
            root = etree.fromstring(data, self._parser)
        except etree.XMLSyntaxError as exc:
            raise _syntax_fault(exc) from None
        self._shape.check(root, data)
        operation = body_operation(root, self._understood)
        check_soap_action(exchange.header("soapaction"), operation, self._actions)
        exchange.envelope = root


def contract_soap_actions() -> dict[str, str]:
    """The SOAPAction values the checked-in WSDL declares, with their request elements."""
    return soap_actions_from_wsdl(wsdl_bytes())
