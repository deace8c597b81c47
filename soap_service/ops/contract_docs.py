"""Reading the checked-in WSDL for people: operations, their documentation and parameters."""

from __future__ import annotations

import dataclasses
import functools

from lxml import etree

from soap_service.contract import contract
from soap_service.contract.names import CONTRACT_NAMESPACE

WSDL = contract.WSDL_NS
XSD = contract.XSD_NS
TNS = CONTRACT_NAMESPACE


@dataclasses.dataclass(frozen=True)
class Field:
    """One element of a request or response: name, type, how often, and its documentation."""

    name: str
    type: str
    occurs: str
    documentation: str
    # The fields of a complex type, recursively (a type met again inside itself is not
    # expanded a second time).
    children: tuple[Field, ...] = ()

    def flattened(self, prefix: str = "") -> list[tuple[str, Field]]:
        """(path, field) for this field and every nested one: `travelTime/segment/speedKph`."""
        path = f"{prefix}/{self.name}" if prefix else self.name
        rows = [(path, self)]
        for child in self.children:
            rows += child.flattened(path)
        return rows


@dataclasses.dataclass(frozen=True)
class OperationDoc:
    """One operation as documented by the contract."""

    name: str
    soap_action: str
    documentation: str
    request_documentation: str
    request: tuple[Field, ...]
    response: tuple[Field, ...]


@dataclasses.dataclass(frozen=True)
class TypeDoc:
    """A named schema type and its documentation."""

    name: str
    documentation: str
    fields: tuple[Field, ...]
    facets: str = ""  # a simple type's restriction, e.g. "pattern [0-9]{1,4}[A-Z]?"


def _doc(element: etree._Element | None) -> str:
    """Text of wsdl:documentation or xs:annotation/xs:documentation, whitespace normalised."""
    if element is None:
        return ""
    found = element.find(f"{{{WSDL}}}documentation")
    if found is None:
        found = element.find(f"{{{XSD}}}annotation/{{{XSD}}}documentation")
    return " ".join((found.text or "").split()) if found is not None else ""


def _occurs(element: etree._Element) -> str:
    low, high = element.get("minOccurs", "1"), element.get("maxOccurs", "1")
    return low if low == high else f"{low}..{'*' if high == 'unbounded' else high}"


def _fields(
    sequence: etree._Element | None,
    types: dict[str, etree._Element],
    seen: frozenset[str] = frozenset(),
) -> tuple[Field, ...]:
    """The elements of an xs:sequence; those of a complex type with that type's fields."""
    if sequence is None:
        return ()
    result = []
    for child in sequence.iterfind(f"{{{XSD}}}element"):
        type_name = child.get("type", "")
        local = type_name.split(":", 1)[-1] if type_name.startswith("tns:") else ""
        declared = types.get(local)
        children: tuple[Field, ...] = ()
        if declared is not None and declared.tag == f"{{{XSD}}}complexType" \
                and local not in seen:
            children = _fields(declared.find(f"{{{XSD}}}sequence"), types, seen | {local})
        result.append(Field(child.get("name", ""), type_name, _occurs(child),
                            _doc(declared), children))
    return tuple(result)


_FACETS = {
    "pattern": "pattern {}", "minLength": "length >= {}", "maxLength": "length <= {}",
    "minInclusive": ">= {}", "maxInclusive": "<= {}",
    "minExclusive": "> {}", "maxExclusive": "< {}", "fractionDigits": "at most {} decimals",
    "totalDigits": "at most {} digits", "length": "length {}",
}


def _facets(simple_type: etree._Element) -> str:
    """A simple type's restriction in words: base, enumeration and facets."""
    restriction = simple_type.find(f"{{{XSD}}}restriction")
    if restriction is None:
        return ""
    parts = [f"base {restriction.get('base', '')}"]
    values = [e.get("value", "") for e in restriction.iterfind(f"{{{XSD}}}enumeration")]
    if values:
        parts.append("one of " + ", ".join(values))
    for facet in restriction:
        if not isinstance(facet.tag, str):
            continue
        text = _FACETS.get(etree.QName(facet).localname)
        if text:
            parts.append(text.format(facet.get("value", "")))
    return "; ".join(parts)


@functools.cache
def _parsed() -> tuple[str, tuple[OperationDoc, ...], tuple[TypeDoc, ...], TypeDoc]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(contract.wsdl_bytes(), parser)
    schema = root.find(f"{{{WSDL}}}types/{{{XSD}}}schema")
    assert schema is not None
    types = {t.get("name", ""): t for t in schema if t.get("name") and t.tag != f"{{{XSD}}}element"}
    elements = {e.get("name", ""): e for e in schema.iterfind(f"{{{XSD}}}element")}
    actions = contract.operations()
    operations = []
    for op in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        name = op.get("name", "")
        request = elements.get(name)
        response = elements.get(f"{name}Response")
        seq = f"{{{XSD}}}complexType/{{{XSD}}}sequence"
        operations.append(OperationDoc(
            name=name,
            soap_action=actions.get(name, ""),
            documentation=_doc(op),
            request_documentation=_doc(request),
            request=_fields(request.find(seq) if request is not None else None, types),
            response=_fields(response.find(seq) if response is not None else None, types),
        ))
    type_docs = tuple(
        TypeDoc(name, _doc(t), _fields(t.find(f"{{{XSD}}}sequence"), types, frozenset({name})),
                _facets(t) if t.tag == f"{{{XSD}}}simpleType" else "")
        for name, t in types.items()
    )
    fault = elements.get("ServiceFault")
    fault_doc = TypeDoc(
        "ServiceFault", _doc(fault),
        _fields(fault.find(f"{{{XSD}}}complexType/{{{XSD}}}sequence"), types)
        if fault is not None else (),
    )
    return _doc(root), tuple(operations), type_docs, fault_doc


def service_documentation() -> str:
    """The contract's top-level wsdl:documentation."""
    return _parsed()[0]


def operations() -> tuple[OperationDoc, ...]:
    """Every operation of the port type, in contract order."""
    return _parsed()[1]


def types() -> tuple[TypeDoc, ...]:
    """Every named schema type, in contract order."""
    return _parsed()[2]


def fault_detail() -> TypeDoc:
    """The tns:ServiceFault element every fault's detail carries, with its fields."""
    return _parsed()[3]
