"""The checked-in contract is the source of truth: the service must never drift from it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from lxml import etree
from spyne.interface.wsdl import Wsdl11

from soap_service.contract import contract
from soap_service.soap.service import OPERATIONS, build_application
from soap_service.store.traffic_store import open_traffic_store
from tests.core.contract_shape import XS, SchemaShape

ROOT = Path(__file__).resolve().parents[2]
CHECKED_IN = ROOT / "wsdl" / "highway-traffic.wsdl"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
ELEMENTS = [name + suffix for name in OPERATIONS for suffix in ("", "Response")]


def spyne_generated_schemas() -> list[etree._Element]:
    with tempfile.TemporaryDirectory() as directory:
        app = build_application(open_traffic_store(str(Path(directory) / "c.db")))
    document = Wsdl11(app.interface)
    document.build_interface_document("http://localhost/soap")
    return etree.fromstring(document.get_interface_document()).findall(f".//{{{XS}}}schema")


def test_a_checkout_reads_the_one_checked_in_contract() -> None:
    """No copies in the packages: a checkout (and an editable install) reads wsdl/ itself."""
    from client.client import bundled_wsdl_path

    assert contract.wsdl_path() == CHECKED_IN
    assert Path(bundled_wsdl_path()) == CHECKED_IN
    assert contract.wsdl_bytes() == CHECKED_IN.read_bytes()
    assert not (ROOT / "soap_service" / "contract" / "highway-traffic.wsdl").exists()
    assert not (ROOT / "client" / "contract").exists()


@pytest.mark.parametrize("element", ELEMENTS)
def test_spyne_model_generates_the_checked_in_shapes(element: str) -> None:
    checked_in = SchemaShape([contract.schema_element()])
    generated = SchemaShape(spyne_generated_schemas())
    assert generated.element(element) == checked_in.element(element)


def test_the_shape_comparison_notices_a_change() -> None:
    schema = contract.schema_element()
    pattern = schema.find(
        f"{{{XS}}}simpleType[@name='HighwayId']/{{{XS}}}restriction/{{{XS}}}pattern"
    )
    pattern.set("value", "[0-9]{1,5}")
    assert SchemaShape([schema]).element("GetTravelTimes") != SchemaShape(
        [contract.schema_element()]
    ).element("GetTravelTimes")


def test_every_binding_operation_is_served_and_documented() -> None:
    root = etree.parse(str(CHECKED_IN)).getroot()
    port_ops = root.findall(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")
    assert sorted(op.get("name") for op in port_ops) == sorted(OPERATIONS)
    for op in port_ops:
        doc = op.find(f"{{{WSDL_NS}}}documentation")
        assert doc is not None and len(doc.text.strip()) > 40, op.get("name")
    assert set(contract.operations()) == set(OPERATIONS)


def test_schema_compiles_and_documents_every_named_type() -> None:
    schema = contract.schema_element()
    etree.XMLSchema(schema)
    for named in schema.iterchildren(f"{{{XS}}}simpleType", f"{{{XS}}}complexType"):
        assert named.find(f"{{{XS}}}annotation/{{{XS}}}documentation") is not None, named.get(
            "name"
        )


def test_highway_server_wsdl_prints_the_checked_in_contract() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "soap_service", "wsdl"], capture_output=True, check=True, cwd=ROOT
    ).stdout
    assert printed == CHECKED_IN.read_bytes()


def test_rendered_wsdl_changes_only_the_address() -> None:
    rendered = etree.fromstring(contract.render_wsdl("https://traffic.example.com/soap"))
    original = etree.parse(str(CHECKED_IN)).getroot()
    address = rendered.find(
        f".//{{{WSDL_NS}}}port/{{http://schemas.xmlsoap.org/wsdl/soap/}}address"
    )
    assert address.get("location") == "https://traffic.example.com/soap"
    address.set("location", "http://localhost:8080/soap")
    assert etree.tostring(rendered, method="c14n") == etree.tostring(original, method="c14n")
