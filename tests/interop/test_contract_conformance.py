"""The checked-in WSDL against the WS-I Basic Profile 1.1 rules for document/literal SOAP 1.1.

tests/contract/test_contract.py already checks the one contract file, the Spyne model, that
the schema compiles, and that every portType operation is documented; this module adds the rest.
Rule numbers (Rnnnn) are WS-I Basic Profile 1.1's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from lxml import etree

from tests.interop.peers import CONTRACT, ROOT

WSDL = "http://schemas.xmlsoap.org/wsdl/"
SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
SOAPENC = "http://schemas.xmlsoap.org/soap/encoding/"
XS = "http://www.w3.org/2001/XMLSchema"
WSP = "http://www.w3.org/ns/ws-policy"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
TNS = "urn:highway-traffic:v1"
# XML Schema's built-in datatypes: references to these need no definition in the contract.
XSD_BUILTINS = frozenset("""
    anyType anySimpleType string normalizedString token language Name NCName NMTOKEN NMTOKENS
    ID IDREF IDREFS ENTITY ENTITIES QName NOTATION anyURI boolean base64Binary hexBinary
    float double decimal integer nonPositiveInteger negativeInteger long int short byte
    nonNegativeInteger unsignedLong unsignedInt unsignedShort unsignedByte positiveInteger
    duration dateTime time date gYearMonth gYear gMonthDay gDay gMonth
""".split())


@pytest.fixture(scope="module")
def wsdl() -> etree._Element:
    """The checked-in contract's root element."""
    return etree.parse(str(CONTRACT)).getroot()


def q(namespace: str, local: str) -> str:
    """Clark notation for lxml."""
    return f"{{{namespace}}}{local}"


def resolve(element: etree._Element, value: str) -> tuple[str | None, str]:
    """(namespace, local name) of a QName attribute value, by the element's in-scope prefixes."""
    prefix, _, local = value.rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    assert prefix == "" or namespace is not None, f"undeclared prefix in {value!r}"
    return namespace, local


def named(wsdl: etree._Element, kind: str) -> set[tuple[str, str]]:
    """(targetNamespace, name) of every wsdl:<kind> defined at the top level."""
    target = wsdl.get("targetNamespace")
    return {(target, item.get("name")) for item in wsdl.iterfind(q(WSDL, kind))}


def schemas(wsdl: etree._Element) -> list[etree._Element]:
    """The xs:schema elements of wsdl:types."""
    return wsdl.findall(f"{q(WSDL, 'types')}/{q(XS, 'schema')}")


def schema_components(wsdl: etree._Element, kinds: tuple[str, ...]) -> set[tuple[str, str]]:
    """(namespace, name) of top-level schema components of the given kinds."""
    return {(schema.get("targetNamespace"), item.get("name"))
            for schema in schemas(wsdl) for kind in kinds
            for item in schema.iterfind(q(XS, kind))}


def binding_operations(wsdl: etree._Element) -> Iterator[etree._Element]:
    """Every wsdl:operation of every wsdl:binding."""
    yield from wsdl.iterfind(f"{q(WSDL, 'binding')}/{q(WSDL, 'operation')}")


def test_xml_declaration_is_utf8() -> None:
    """The contract declares UTF-8 (R4003)."""
    # R4003: descriptions use UTF-8 or UTF-16.
    head = CONTRACT.read_bytes()[:100]
    assert re.match(rb'<\?xml version="1\.0" encoding="UTF-8"\?>', head), head


def test_target_namespace_is_stable_and_versioned(wsdl: etree._Element) -> None:
    """The namespace is urn:highway-traffic:vN and the documented version is N.x."""
    assert wsdl.get("targetNamespace") == TNS
    assert [schema.get("targetNamespace") for schema in schemas(wsdl)] == [TNS]
    version = re.fullmatch(r"urn:highway-traffic:v(\d+)", TNS).group(1)
    # The human-readable contract version names the same major version as the namespace.
    documentation = wsdl.findtext(q(WSDL, "documentation"))
    declared = re.search(r"contract version (\d+)\.\d+", documentation)
    assert declared and declared.group(1) == version, documentation[:120]


def test_readme_names_the_contract_namespace() -> None:
    """README tells users the namespace (and so the version) their stubs speak."""
    readme = ROOT / "README.md"
    assert readme.exists(), "README.md is missing"
    assert TNS in readme.read_text(), f"README.md must name the contract namespace {TNS}"


def test_schema_is_qualified(wsdl: etree._Element) -> None:
    """Local elements are namespace-qualified, attributes are not."""
    # Generated code and Spyne agree on qualified local elements only if the schema says so.
    for schema in schemas(wsdl):
        assert schema.get("elementFormDefault") == "qualified"
        assert schema.get("attributeFormDefault", "unqualified") == "unqualified"


def test_every_message_has_one_part_that_names_an_element(wsdl: etree._Element) -> None:
    """Each message has exactly one part, and it refers to a schema element."""
    # R2201 (one part bound to a document/literal soap:body), R2204 (element=, never type=).
    elements = schema_components(wsdl, ("element",))
    for message in wsdl.iterfind(q(WSDL, "message")):
        parts = message.findall(q(WSDL, "part"))
        assert len(parts) == 1, message.get("name")
        (part,) = parts
        assert part.get("type") is None, f"{message.get('name')}: type= part"
        assert resolve(part, part.get("element")) in elements, part.get("element")


def test_no_soap_encoding_anywhere(wsdl: etree._Element) -> None:
    """Nothing is SOAP-encoded: literal use only, no soapenc arrays."""
    # R2706 (use="literal"), R2716/R2717 (no namespace/encodingStyle on doc/literal bodies),
    # and no SOAP-encoded arrays (R2110/R2111: no soapenc:Array, no wsdl:arrayType).
    text = CONTRACT.read_text()
    assert SOAPENC not in text and "arrayType" not in text
    for use_element in wsdl.iter(q(SOAP, "body"), q(SOAP, "fault"), q(SOAP, "header"),
                                 q(SOAP, "headerfault")):
        assert use_element.get("use") == "literal", etree.tostring(use_element)
        assert use_element.get("encodingStyle") is None
        assert use_element.get("namespace") is None


def test_binding_is_soap11_document_over_http(wsdl: etree._Element) -> None:
    """The binding is SOAP 1.1, document style, over HTTP."""
    # R2401 (SOAP 1.1 binding only), R2702 (HTTP transport), R2705 (one style per binding).
    assert not list(wsdl.iter(f"{{{SOAP12}}}*")), "SOAP 1.2 bindings are outside BP 1.1"
    bindings = wsdl.findall(q(WSDL, "binding"))
    assert bindings
    for binding in bindings:
        soap_binding = binding.find(q(SOAP, "binding"))
        assert soap_binding.get("transport") == HTTP_TRANSPORT
        assert soap_binding.get("style", "document") == "document"
        for operation in binding.iterfind(q(WSDL, "operation")):
            assert operation.find(q(SOAP, "operation")).get("style", "document") == "document"


def test_operation_names_are_unique(wsdl: etree._Element) -> None:
    """No operation name is used twice."""
    # R2304: no overloaded operations within a portType (nor within a binding).
    for container in ("portType", "binding"):
        for parent in wsdl.iterfind(q(WSDL, container)):
            names = [op.get("name") for op in parent.iterfind(q(WSDL, "operation"))]
            assert len(names) == len(set(names)), (container, names)


def test_operation_signatures_are_unique(wsdl: etree._Element) -> None:
    """Each operation's request has its own wrapper element."""
    # R2710: the Body's child element alone tells which operation was called.
    messages = {m.get("name"): m for m in wsdl.iterfind(q(WSDL, "message"))}
    wrappers = []
    for operation in wsdl.iterfind(f"{q(WSDL, 'portType')}/{q(WSDL, 'operation')}"):
        message = messages[resolve(operation, operation.find(q(WSDL, "input")).get("message"))[1]]
        part = message.find(q(WSDL, "part"))
        wrappers.append(resolve(part, part.get("element")))
    assert len(wrappers) == len(set(wrappers)), wrappers


def test_every_operation_declares_its_soap_action(wsdl: etree._Element) -> None:
    """Every bound operation declares soapAction urn:highway-traffic:v1/<Operation>."""
    # The front door checks a non-empty SOAPAction against this value, so it must be
    # declared, unique, and follow the documented <namespace>/<Operation> form.
    actions = []
    for operation in binding_operations(wsdl):
        soap_operation = operation.find(q(SOAP, "operation"))
        assert soap_operation is not None, operation.get("name")
        action = soap_operation.get("soapAction")
        assert action == f"{TNS}/{operation.get('name')}", action
        actions.append(action)
    assert len(actions) == len(set(actions))


def test_binding_covers_the_port_type_exactly(wsdl: etree._Element) -> None:
    """The binding binds exactly the portType's operations."""
    # R2718: a binding has the same set of operations as its portType.
    port_types = {p.get("name"): p for p in wsdl.iterfind(q(WSDL, "portType"))}
    for binding in wsdl.iterfind(q(WSDL, "binding")):
        port_type = port_types[resolve(binding, binding.get("type"))[1]]
        bound = sorted(op.get("name") for op in binding.iterfind(q(WSDL, "operation")))
        declared = sorted(op.get("name") for op in port_type.iterfind(q(WSDL, "operation")))
        assert bound == declared


def test_every_wsdl_reference_is_defined(wsdl: etree._Element) -> None:
    """Messages, portTypes and bindings named by QName exist in the document."""
    # R2101/R2102: QName references resolve to definitions in this description.
    messages, port_types, bindings = (named(wsdl, k) for k in ("message", "portType", "binding"))
    for item in wsdl.iterfind(f"{q(WSDL, 'portType')}/{q(WSDL, 'operation')}/*"):
        if item.get("message") is not None:
            assert resolve(item, item.get("message")) in messages, item.get("message")
    for binding in wsdl.iterfind(q(WSDL, "binding")):
        assert resolve(binding, binding.get("type")) in port_types
    for port in wsdl.iterfind(f"{q(WSDL, 'service')}/{q(WSDL, 'port')}"):
        assert resolve(port, port.get("binding")) in bindings
        address = port.find(q(SOAP, "address"))
        assert address is not None and address.get("location").startswith(("http://", "https://"))
    # No wsdl:import or xs:import/include: generators must not need a second document (R2001).
    assert not list(wsdl.iter(q(WSDL, "import"), q(XS, "import"), q(XS, "include")))


def test_every_schema_reference_is_defined(wsdl: etree._Element) -> None:
    """Every type, base and ref in the schema is defined or built in."""
    types = schema_components(wsdl, ("simpleType", "complexType"))
    elements = schema_components(wsdl, ("element",))
    checked = 0
    for schema in schemas(wsdl):
        for item in schema.iter(q(XS, "element"), q(XS, "attribute"), q(XS, "restriction"),
                                q(XS, "extension"), q(XS, "list")):
            for attribute, defined in (("type", types), ("base", types), ("itemType", types),
                                       ("ref", elements)):
                value = item.get(attribute)
                if value is None:
                    continue
                namespace, local = resolve(item, value)
                if namespace == XS:
                    assert local in XSD_BUILTINS, value
                else:
                    assert (namespace, local) in defined, value
                checked += 1
    assert checked > 20  # the walk really visited the schema


def test_faults_match_between_port_type_and_binding(wsdl: etree._Element) -> None:
    """wsdl:fault declarations agree between portType and binding."""
    # R2205 (fault parts name an element), R2721/R2754 (soap:fault has a name equal to its
    # wsdl:fault's), and every portType fault is bound (and nothing else is).
    messages = {m.get("name"): m for m in wsdl.iterfind(q(WSDL, "message"))}
    declared = {
        (op.get("name"), fault.get("name")): fault
        for op in wsdl.iterfind(f"{q(WSDL, 'portType')}/{q(WSDL, 'operation')}")
        for fault in op.iterfind(q(WSDL, "fault"))
    }
    bound = {}
    for op in binding_operations(wsdl):
        for fault in op.iterfind(q(WSDL, "fault")):
            soap_fault = fault.find(q(SOAP, "fault"))
            assert soap_fault is not None and soap_fault.get("name") == fault.get("name")
            bound[(op.get("name"), fault.get("name"))] = fault
    assert declared and set(declared) == set(bound)
    for fault in declared.values():
        message = messages[resolve(fault, fault.get("message"))[1]]
        assert [p.get("element") is not None for p in message.iterfind(q(WSDL, "part"))] == [True]


def test_every_binding_operation_has_input_output_and_documentation(wsdl: etree._Element) -> None:
    """Operations are request-response and the service is documented."""
    # One-way operations would need R2714's empty HTTP answer; the service has none, and every
    # operation (portType and service level) carries documentation for generated code.
    for operation in wsdl.iterfind(f"{q(WSDL, 'portType')}/{q(WSDL, 'operation')}"):
        assert operation.find(q(WSDL, "input")) is not None
        assert operation.find(q(WSDL, "output")) is not None
    for operation in binding_operations(wsdl):
        assert operation.find(f"{q(WSDL, 'input')}/{q(SOAP, 'body')}") is not None
        assert operation.find(f"{q(WSDL, 'output')}/{q(SOAP, 'body')}") is not None
    for service in wsdl.iterfind(q(WSDL, "service")):
        assert (service.findtext(q(WSDL, "documentation")) or "").strip(), service.get("name")


def test_policy_references_resolve(wsdl: etree._Element) -> None:
    """WS-Policy references point at a policy in the same document."""
    # WS-Policy attachment: a PolicyReference URI="#id" must name a wsp:Policy in the document,
    # or generators (wsimport, svcutil) stop with an unresolved-policy error.
    ids = {policy.get(q(WSU, "Id")) or policy.get("Id") for policy in wsdl.iter(q(WSP, "Policy"))}
    for reference in wsdl.iter(q(WSP, "PolicyReference")):
        uri = reference.get("URI")
        assert uri.startswith("#") and uri[1:] in ids, uri
