"""Reduces an XML Schema to the shape of its global elements, so two schemas can be compared."""

from __future__ import annotations

from typing import Any

from lxml import etree

XS = "http://www.w3.org/2001/XMLSchema"
FACETS = (
    "pattern",
    "enumeration",
    "minLength",
    "maxLength",
    "minInclusive",
    "maxInclusive",
    "fractionDigits",
    "totalDigits",
    "length",
)


class SchemaShape:
    """Resolves named types inside one or more xs:schema elements (one target namespace)."""

    def __init__(self, schemas: list[etree._Element]) -> None:
        self.types: dict[str, etree._Element] = {}
        self.elements: dict[str, etree._Element] = {}
        for schema in schemas:
            for child in schema:
                name = child.get("name")
                if child.tag in (f"{{{XS}}}simpleType", f"{{{XS}}}complexType"):
                    self.types[name] = child
                elif child.tag == f"{{{XS}}}element":
                    self.elements[name] = child

    def element(self, name: str) -> Any:
        """The canonical shape of a global element."""
        return self._type_of(self.elements[name])

    def _local(self, qname: str) -> str:
        return qname.split(":", 1)[-1]

    def _type_of(self, decl: etree._Element) -> Any:
        type_name = decl.get("type")
        if type_name is None:
            inline = decl.find(f"{{{XS}}}complexType")
            if inline is None:
                inline = decl.find(f"{{{XS}}}simpleType")
            return self._type(inline)
        local = self._local(type_name)
        if local in self.types:
            return self._type(self.types[local])
        return ("builtin", local)

    def _type(self, node: etree._Element) -> Any:
        if node.tag == f"{{{XS}}}simpleType":
            restriction = node.find(f"{{{XS}}}restriction")
            base = self._local(restriction.get("base"))
            base_shape = self._type(self.types[base]) if base in self.types else ("builtin", base)
            facets: dict[str, Any] = {}
            for facet in restriction:
                tag = etree.QName(facet).localname
                if tag in FACETS:
                    value = facet.get("value")
                    if tag == "enumeration":
                        facets.setdefault(tag, set()).add(value)
                    elif tag in ("pattern",):
                        facets[tag] = value
                    else:
                        facets[tag] = str(float(value)) if "Inclusive" in tag else value
            return (
                "simple",
                base_shape,
                tuple(
                    sorted(
                        (k, str(sorted(v)) if isinstance(v, set) else v) for k, v in facets.items()
                    )
                ),
            )
        sequence = node.find(f"{{{XS}}}sequence")
        children = [] if sequence is None else list(sequence.iter(f"{{{XS}}}element"))
        return (
            "complex",
            tuple(
                (
                    child.get("name"),
                    child.get("minOccurs", "1"),
                    child.get("maxOccurs", "1"),
                    self._type_of(child),
                )
                for child in children
            ),
        )
