"""The checked-in contract: served at ?wsdl with our address, and the schema requests must meet."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lxml import etree

WSDL_FILE = "highway-traffic.wsdl"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP_NS = "http://schemas.xmlsoap.org/wsdl/soap/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"


def wsdl_path() -> Path:
    """The contract file: the copy the build put in this package (an installed wheel), else
    the checked-in wsdl/ of the source tree (a checkout or an editable install; setup.py)."""
    bundled = resources.files(__package__).joinpath(WSDL_FILE)
    if bundled.is_file():
        return Path(str(bundled))
    return Path(__file__).resolve().parents[2] / "wsdl" / WSDL_FILE


@functools.cache
def wsdl_bytes() -> bytes:
    """The contract exactly as checked in."""
    return wsdl_path().read_bytes()


def _parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False)
    return etree.fromstring(data, parser)


def render_wsdl(endpoint_url: str) -> bytes:
    """The contract with soap:address set to `endpoint_url` (from configuration, never Host)."""
    root = _parse(wsdl_bytes())
    addresses = root.findall(f".//{{{WSDL_NS}}}port/{{{WSDL_SOAP_NS}}}address")
    for address in addresses:
        address.set("location", endpoint_url)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def schema_element() -> etree._Element:
    """The contract's xs:schema element, as a standalone document."""
    root = _parse(wsdl_bytes())
    schema = root.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema is None:
        raise RuntimeError("the contract has no inline xs:schema")
    # Copy into its own tree so namespace declarations made on wsdl:definitions come along.
    return etree.fromstring(etree.tostring(schema))


@functools.cache
def xsd_bytes() -> bytes:
    """The schema as its own XSD document (served at ?xsd)."""
    return etree.tostring(schema_element(), xml_declaration=True, encoding="UTF-8")


@functools.cache
def validation_schema() -> etree.XMLSchema:
    """The compiled schema that every request Body is validated against."""
    return etree.XMLSchema(schema_element())


def operations() -> dict[str, str]:
    """Operation name -> soapAction, as the binding declares them."""
    root = _parse(wsdl_bytes())
    result: dict[str, str] = {}
    for op in root.iterfind(f"{{{WSDL_NS}}}binding/{{{WSDL_NS}}}operation"):
        soap_op = op.find(f"{{{WSDL_SOAP_NS}}}operation")
        result[op.get("name", "")] = soap_op.get("soapAction", "") if soap_op is not None else ""
    return result
