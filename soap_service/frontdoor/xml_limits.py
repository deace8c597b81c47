"""Shape limits on a parsed request (depth, element count, attributes, namespace declarations,
name and text lengths), checked with a few XPath counts that run inside libxml2."""

from __future__ import annotations

import dataclasses

from lxml import etree

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.frontdoor.settings import FrontDoorSettings


@dataclasses.dataclass(frozen=True)
class XmlLimits:
    """The XML shape limits; see FrontDoorSettings for their meaning and defaults."""

    depth: int = 32
    elements: int = 10_000
    attributes: int = 32
    namespaces: int = 32
    name_length: int = 256
    text_length: int = 65_536

    @classmethod
    def from_settings(cls, settings: FrontDoorSettings) -> XmlLimits:
        """The limits configured for the front door."""
        return cls(
            depth=settings.max_xml_depth,
            elements=settings.max_xml_elements,
            attributes=settings.max_xml_attributes,
            namespaces=settings.max_xml_namespaces,
            name_length=settings.max_xml_name_length,
            text_length=settings.max_xml_text_length,
        )


def limit_fault(limit: str, what: str) -> ServiceFault:
    """The Client.XMLLimitExceeded fault; `limit` names the limit in the fault detail."""
    return ServiceFault(
        faults.CLIENT_XML_LIMIT,
        f"The request exceeds the {what} limit.",
        detail={"limit": limit},
        reason=f"xml limit {limit}",
    )


class ShapeCheck:
    """Checks one parsed document against XmlLimits.

    Cheap whole-document counts run first (a small request costs a few microseconds); the
    per-element checks only run when a count says some element could break a limit.
    """

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        deeper = "/*" + "/*" * limits.depth  # an element below the depth limit exists
        long_name = (f"//*[string-length(name()) > {limits.name_length}]"
                     f" | //@*[string-length(name()) > {limits.name_length}]")
        # One evaluation inside libxml2 for the whole-document facts: PIs, elements,
        # too deep, attributes, too long a name (each XPath call has a fixed cost).
        self._summary = etree.XPath(
            "concat(count(//processing-instruction()), ' ', count(//*), ' ',"
            f" number(boolean({deeper})), ' ', count(//@*), ' ',"
            f" number(boolean({long_name})))"
        )
        self._crowded_element = etree.XPath(f"boolean(//*[count(@*) > {limits.attributes}])")
        self._long_text = etree.XPath(
            f"boolean(//text()[string-length() > {limits.text_length}]"
            f" | //@*[string-length() > {limits.text_length}]"
            f" | //comment()[string-length() > {limits.text_length}])"
        )

    def check(self, root: etree._Element, data: bytes) -> None:
        """Raise ServiceFault when `root` (parsed from `data`) breaks a limit or holds a PI."""
        limits = self.limits
        pis, elements, deep, attributes, long_name = str(self._summary(root)).split()
        if pis != "0":
            raise ServiceFault(
                faults.CLIENT_PI_NOT_ALLOWED,
                "A SOAP message must not contain processing instructions.",
                reason="pi",
            )
        if int(elements) > limits.elements:
            raise limit_fault("elements", "element count")
        if deep != "0":
            raise limit_fault("depth", "nesting depth")
        if int(attributes) > limits.attributes and self._crowded_element(root):
            raise limit_fault("attributes", "attributes per element")
        if long_name != "0":
            raise limit_fault("name-length", "name length")
        long_run = len(data) > limits.text_length and _may_hold_long_text(data, limits.text_length)
        if long_run and self._long_text(root):
            raise limit_fault("text-length", "text length")
        # Each declaration spells "xmlns"; few in the body means no element can have too many.
        if long_run or data.count(b"xmlns") > limits.namespaces:
            self._check_declarations(root)

    def _check_declarations(self, root: etree._Element) -> None:
        """Walk the declarations: count them per element, and bound each namespace URI."""
        limits = self.limits
        declared = 0
        for event, item in etree.iterwalk(root, events=("start", "start-ns")):
            if event == "start":
                declared = 0
                continue
            declared += 1
            if declared > limits.namespaces:
                raise limit_fault("namespaces", "namespace declarations per element")
            prefix, uri = item
            if len(uri) > limits.text_length:
                raise limit_fault("text-length", "text length")
            if len(prefix) > limits.name_length:
                raise limit_fault("name-length", "name length")


def _may_hold_long_text(data: bytes, limit: int) -> bool:
    """False only when no text, attribute value or namespace URI can exceed `limit` chars.

    Outside comments and CDATA, every such value is a run of raw bytes without "<", at least
    as long (in bytes) as the value is (in characters); one split is cheaper than asking
    libxml2 about every node of a large document.
    """
    if b"<!--" in data or b"<![CDATA[" in data:
        return True
    return max(map(len, data.split(b"<"))) > limit
