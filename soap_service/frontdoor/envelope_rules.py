"""SOAP 1.1 envelope rules Spyne does not enforce: version, Header/Body shape, mustUnderstand
and SOAPAction agreement with the Body's operation."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from lxml import etree

from soap_service import faults
from soap_service.faults import ServiceFault, truncate_fragment

ENVELOPE = f"{{{faults.SOAP11_ENV_NS}}}Envelope"
HEADER = f"{{{faults.SOAP11_ENV_NS}}}Header"
BODY = f"{{{faults.SOAP11_ENV_NS}}}Body"
MUST_UNDERSTAND_ATTR = f"{{{faults.SOAP11_ENV_NS}}}mustUnderstand"
ACTOR_ATTR = f"{{{faults.SOAP11_ENV_NS}}}actor"
ACTOR_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"

# Header blocks this service processes itself: the WS-Security 1.0 header.
DEFAULT_UNDERSTOOD: frozenset[str] = frozenset({f"{{{faults.WSSE_NS}}}Security"})


def _invalid(message: str, reason: str) -> ServiceFault:
    return ServiceFault(faults.CLIENT_INVALID_ENVELOPE, message, reason=reason)


def _element_children(parent: etree._Element, where: str) -> list[etree._Element]:
    """The element children of `parent`; comments are skipped, other text is refused."""
    if parent.text is not None and parent.text.strip():
        raise _invalid(f"Text is not allowed directly inside {where}.", f"text in {where}")
    children = []
    for child in parent:
        if child.tail is not None and child.tail.strip():
            raise _invalid(f"Text is not allowed directly inside {where}.", f"text in {where}")
        if child.tag.__class__ is str:
            children.append(child)
    return children


def _check_headers(header: etree._Element, understood: Collection[str]) -> None:
    """Refuse a header block marked mustUnderstand for us that we do not process."""
    for block in _element_children(header, "Header"):
        flag = block.get(MUST_UNDERSTAND_ATTR)
        if flag is None or flag.strip() not in ("1", "true"):
            continue
        actor = block.get(ACTOR_ATTR)
        if actor is not None and actor.strip() != ACTOR_NEXT:
            continue  # addressed to another actor, not to us as the ultimate receiver
        if block.tag not in understood:
            raise ServiceFault(
                faults.MUST_UNDERSTAND,
                f"Header {truncate_fragment(str(block.tag))} was not understood.",
                reason="mustUnderstand",
            )


def body_operation(root: etree._Element, understood: Collection[str]) -> etree._Element:
    """Check Envelope, Header and Body; return the Body's single child element."""
    if root.tag != ENVELOPE:
        if etree.QName(root).localname == "Envelope":
            raise ServiceFault(
                faults.VERSION_MISMATCH,
                "Only SOAP 1.1 envelopes are accepted.",
                reason="envelope namespace",
            )
        raise _invalid("The document is not a SOAP envelope.", "not an envelope")
    children = _element_children(root, "Envelope")
    if children and children[0].tag == HEADER:
        _check_headers(children[0], understood)
        children = children[1:]
    if not children or children[0].tag != BODY:
        raise _invalid("The envelope has no Body.", "no body")
    if len(children) > 1:
        raise _invalid("Nothing may follow the Body in an envelope.", "after body")
    payload = _element_children(children[0], "Body")
    if len(payload) != 1:
        raise _invalid(
            "The Body must hold exactly one element.", f"{len(payload)} body children"
        )
    return payload[0]


def check_soap_action(header: str | None, operation: etree._Element,
                      actions: Mapping[str, str]) -> None:
    """Refuse a non-empty SOAPAction that names another operation than the Body's.

    `actions` maps each SOAPAction the contract declares to its request element's Clark name.
    """
    if header is None:
        return
    action = header.strip()
    if len(action) >= 2 and action[0] == action[-1] == '"':
        action = action[1:-1].strip()
    if not action:
        return
    if actions.get(action) != operation.tag:
        raise ServiceFault(
            faults.CLIENT_SOAPACTION_MISMATCH,
            f"SOAPAction {truncate_fragment(action)} does not match the Body's operation.",
            reason="soapaction mismatch",
        )


def soap_actions_from_wsdl(wsdl: bytes) -> dict[str, str]:
    """SOAPAction -> request element (Clark name), read from a WSDL 1.1 document."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(wsdl, parser)
    target = root.get("targetNamespace", "")
    elements: dict[str, str] = {}
    for message in root.iterfind(f"{{{WSDL_NS}}}message"):
        part = message.find(f"{{{WSDL_NS}}}part")
        if part is not None and part.get("element"):
            prefix, _, local = part.get("element", "").rpartition(":")
            namespace = part.nsmap.get(prefix or None, "")
            elements[message.get("name", "")] = f"{{{namespace}}}{local}"
    inputs: dict[str, str] = {}
    for operation in root.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation"):
        given = operation.find(f"{{{WSDL_NS}}}input")
        if given is not None:
            inputs[operation.get("name", "")] = given.get("message", "").rpartition(":")[2]
    actions: dict[str, str] = {}
    for operation in root.iterfind(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation"):
        soap_op = operation.find(f"{{{WSDL_SOAP_NS}}}operation")
        action = soap_op.get("soapAction", "") if soap_op is not None else ""
        name = operation.get("name", "")
        element = elements.get(inputs.get(name, ""), f"{{{target}}}{name}")
        if action:
            actions[action] = element
    return actions
