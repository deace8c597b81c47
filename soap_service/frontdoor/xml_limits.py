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

    Each fact is first bounded from the raw bytes (one count or split, in C): a document
    whose bytes cannot hold a breach skips that fact's XPath over the tree. Only what a bound
    cannot exclude is asked of libxml2, so a 1000-item batch pays one tree walk (depth), not
    five. The bounds are exact upper bounds, never estimates: each says why below.
    """

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self._pis = etree.XPath("boolean(//processing-instruction())")
        self._elements = etree.XPath("count(//*)")
        # An element below the depth limit exists.
        self._deep = etree.XPath("boolean(/*" + "/*" * limits.depth + ")")
        self._attributes = etree.XPath("count(//@*)")
        self._long_name = etree.XPath(
            f"boolean(//*[string-length(name()) > {limits.name_length}]"
            f" | //@*[string-length(name()) > {limits.name_length}])")
        self._crowded_element = etree.XPath(f"boolean(//*[count(@*) > {limits.attributes}])")
        self._long_text = etree.XPath(
            f"boolean(//text()[string-length() > {limits.text_length}]"
            f" | //@*[string-length() > {limits.text_length}]"
            f" | //comment()[string-length() > {limits.text_length}])"
        )

    def check(self, root: etree._Element, data: bytes) -> None:
        """Raise ServiceFault when `root` (parsed from `data`) breaks a limit or holds a PI."""
        limits = self.limits
        if _may_hold_pi(data) and self._pis(root):
            raise ServiceFault(
                faults.CLIENT_PI_NOT_ALLOWED,
                "A SOAP message must not contain processing instructions.",
                reason="pi",
            )
        # Every element has one start tag: a "<" not followed by "/" (an end tag's "</" is
        # never a start tag). Other "<" bytes (comments, CDATA) only raise the bound.
        start_tags = data.count(b"<") - data.count(b"</")
        if start_tags > limits.elements and int(self._elements(root)) > limits.elements:
            raise limit_fault("elements", "element count")
        # An element below the depth limit has at least `depth` ancestors: depth + 1 elements.
        if start_tags > limits.depth and self._deep(root):
            raise limit_fault("depth", "nesting depth")
        # Every attribute (and namespace declaration) is written with one "=".
        if (data.count(b"=") > limits.attributes
                and int(self._attributes(root)) > limits.attributes
                and self._crowded_element(root)):
            raise limit_fault("attributes", "attributes per element")
        # A tag holds no "<" (not even in attribute values), so a name is never longer in
        # characters than the longest run of bytes between two "<".
        runs = data.split(b"<") if len(data) > limits.name_length else []
        longest = max(map(len, runs)) if runs else 0
        if (longest > limits.name_length and _may_hold_long_name(runs, limits.name_length)
                and self._long_name(root)):
            raise limit_fault("name-length", "name length")
        long_run = len(data) > limits.text_length and _may_hold_long_text(data, longest,
                                                                           limits.text_length)
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


# Bytes no XML name can hold (markup, quotes, "=", "/", whitespace): each becomes a "<".
_NAME_BREAKS = bytes.maketrans(b">/=\"' \t\r\n", b"<" * 9)


def _may_hold_long_name(runs: list[bytes], limit: int) -> bool:
    """False only when no element or attribute name is longer than `limit` characters.

    `runs` are the document's bytes split at "<". A name lies inside one run and holds none
    of _NAME_BREAKS (a qualified name's ":" is no break), and it has no more characters than
    bytes; so only a run longer than `limit` can hold one, and only in a stretch between two
    breaks. A start tag with namespace URIs outruns the limit, but is cut at every "/" here.
    """
    for run in runs:
        if len(run) > limit and max(map(len, run.translate(_NAME_BREAKS).split(b"<"))) > limit:
            return True
    return False


def _may_hold_long_text(data: bytes, longest_run: int, limit: int) -> bool:
    """False only when no text, attribute value or namespace URI can exceed `limit` chars.

    Outside comments and CDATA, every such value is a run of raw bytes without "<" (of which
    `longest_run` is the longest), at least as long in bytes as the value is in characters.
    """
    if b"<!--" in data or b"<![CDATA[" in data:
        return True
    return longest_run > limit


def _may_hold_pi(data: bytes) -> bool:
    """False only when the document cannot hold a processing instruction: every PI starts
    with "<?", and the only "<?" allowed otherwise is the XML declaration at the very start
    ("<?xml" then whitespace; "<?xml-stylesheet" is a PI)."""
    at = data.find(b"<?")
    if at == 0 and data[5:6] in (b" ", b"\t", b"\r", b"\n") and data.startswith(b"<?xml"):
        at = data.find(b"<?", 1)
    return at != -1
