"""Reading the checked-in WSDL for people: operations, their documentation and parameters."""

from __future__ import annotations

import dataclasses
import functools

from lxml import etree

from soap_service.contract import contract

WSDL = contract.WSDL_NS
XSD = contract.XSD_NS
TNS = "urn:highway-traffic:v1"


@dataclasses.dataclass(frozen=True)
class Field:
    """One element of a request or response: name, type, how often, and its documentation."""

    name: str
    type: str
    occurs: str
    documentation: str


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


def _fields(sequence: etree._Element | None, types: dict[str, etree._Element]) -> tuple[Field, ...]:
    if sequence is None:
        return ()
    result = []
    for child in sequence.iterfind(f"{{{XSD}}}element"):
        type_name = child.get("type", "")
        local = type_name.split(":", 1)[-1]
        result.append(Field(child.get("name", ""), type_name, _occurs(child),
                            _doc(types.get(local))))
    return tuple(result)


@functools.cache
def _parsed() -> tuple[str, tuple[OperationDoc, ...], tuple[TypeDoc, ...]]:
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
        TypeDoc(name, _doc(t), _fields(t.find(f"{{{XSD}}}sequence"), types))
        for name, t in types.items()
    )
    return _doc(root), tuple(operations), type_docs


def service_documentation() -> str:
    """The contract's top-level wsdl:documentation."""
    return _parsed()[0]


def operations() -> tuple[OperationDoc, ...]:
    """Every operation of the port type, in contract order."""
    return _parsed()[1]


def types() -> tuple[TypeDoc, ...]:
    """Every named schema type, in contract order."""
    return _parsed()[2]
