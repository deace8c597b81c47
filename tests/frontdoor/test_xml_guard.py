"""The XML guard on its own: every catalogue body through XmlGuard.parse directly, plus the
limits at their edges and what a full ReportObservations batch needs."""

from __future__ import annotations

import pytest
from lxml import etree

from soap_service import faults
from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.faults import ServiceFault
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.frontdoor.xml_limits import XmlLimits
from tests.frontdoor.catalogue import HT, SOAP11, WSSE, envelope


def exchange(body: bytes | str, content_type: str = "text/xml; charset=utf-8",
             **headers: str) -> Exchange:
    data = body.encode("utf-8") if isinstance(body, str) else body
    all_headers = {"content-type": content_type, **{k.lower(): v for k, v in headers.items()}}
    return Exchange("cid", "POST", "/soap", all_headers, data, TransportInfo("127.0.0.1"))


@pytest.fixture(scope="module")
def guard() -> XmlGuard:
    return XmlGuard()


def refused(guard: XmlGuard, ex: Exchange) -> ServiceFault:
    with pytest.raises(ServiceFault) as caught:
        guard.parse(ex)
    assert ex.envelope is None
    return caught.value


def batch(count: int) -> str:
    item = ("<ht:observation><ht:sensorId>S{0}</ht:sensorId><ht:segmentId>A1</ht:segmentId>"
            "<ht:observedAt>2024-01-01T00:00:00Z</ht:observedAt><ht:speedKph>88</ht:speedKph>"
            "</ht:observation>")
    security = (f'<wsse:Security xmlns:wsse="{WSSE}" soap:mustUnderstand="1">'
                "<wsse:UsernameToken><wsse:Username>op</wsse:Username>"
                '<wsse:Password Type="x">pw</wsse:Password><wsse:Nonce>n</wsse:Nonce>'
                "</wsse:UsernameToken></wsse:Security>")
    return envelope("<ht:ReportObservations>" + "".join(item.format(i) for i in range(count))
                    + "</ht:ReportObservations>", header=security)


def test_a_full_batch_with_ws_security_passes_the_default_limits(guard):
    ex = exchange(batch(1000), SOAPAction='"urn:highway-traffic:v1/ReportObservations"')
    guard.parse(ex)
    assert ex.envelope is not None and ex.envelope.tag == f"{{{SOAP11}}}Envelope"


def test_the_envelope_is_the_parsed_root(guard):
    ex = exchange(envelope())
    guard.parse(ex)
    body = ex.envelope.find(f"{{{SOAP11}}}Body")
    assert body[0].tag == f"{{{HT}}}ListHighways"


@pytest.mark.parametrize(("limit", "inside_ok", "inside_bad"), [
    ("depth", "<a>" * 30 + "</a>" * 30, "<a>" * 31 + "</a>" * 31),  # Envelope+Body = 2
    ("attributes", "<a " + " ".join(f'x{i}="1"' for i in range(32)) + "/>",
     "<a " + " ".join(f'x{i}="1"' for i in range(33)) + "/>"),
    ("namespaces", "<a " + " ".join(f'xmlns:n{i}="u"' for i in range(32)) + "/>",
     "<a " + " ".join(f'xmlns:n{i}="u"' for i in range(33)) + "/>"),
    ("name-length", "<" + "a" * 256 + "/>", "<" + "a" * 257 + "/>"),
    ("text-length", "<a>" + "t" * 65536 + "</a>", "<a>" + "t" * 65537 + "</a>"),
    ("text-length", '<a x="' + "t" * 65536 + '"/>', '<a x="' + "t" * 65537 + '"/>'),
    ("elements", "<a>" + "<b/>" * 9997 + "</a>", "<a>" + "<b/>" * 9998 + "</a>"),
], ids=["depth", "attributes", "namespaces", "name", "text", "attribute-value", "elements"])
def test_limits_hold_exactly_at_their_edge(guard, limit, inside_ok, inside_bad):
    # Unknown body content is Spyne's to refuse; the guard only judges the shape.
    guard.parse(exchange(envelope(inside_ok)))
    fault = refused(guard, exchange(envelope(inside_bad)))
    assert (fault.code, fault.detail["limit"]) == (faults.CLIENT_XML_LIMIT, limit)


def test_limits_follow_the_configuration():
    small = XmlGuard.from_settings(FrontDoorSettings(max_xml_depth=4, max_xml_elements=50))
    small.parse(exchange(envelope("<a><b/></a>")))
    assert refused(small, exchange(envelope("<a><b><c/></b></a>"))).detail["limit"] == "depth"
    assert XmlLimits.from_settings(FrontDoorSettings(max_xml_text_length=7)).text_length == 7


def test_understood_headers_are_configurable():
    header = '<x:T xmlns:x="urn:x" soap:mustUnderstand="1"/>'
    assert refused(XmlGuard(), exchange(envelope(header=header))).code == faults.MUST_UNDERSTAND
    XmlGuard(understood_headers={"{urn:x}T"}).parse(exchange(envelope(header=header)))


def test_soap_actions_are_the_contracts(guard):
    for action in ("urn:highway-traffic:v1/ListHighways", '"urn:highway-traffic:v1/ListHighways"',
                   "", '""'):
        guard.parse(exchange(envelope(), SOAPAction=action))
    for action in ("ListHighways", "urn:highway-traffic:v1#ListHighways", '"x"'):
        assert refused(guard, exchange(envelope(), SOAPAction=action)).code == \
            faults.CLIENT_SOAPACTION_MISMATCH


def test_utf16_both_byte_orders_are_accepted(guard):
    text = envelope(prolog='<?xml version="1.0" encoding="utf-16"?>')
    for data in (text.encode("utf-16"), b"\xfe\xff" + text.encode("utf-16-be")):
        ex = exchange(data, "text/xml; charset=UTF-16")
        guard.parse(ex)
        assert ex.envelope is not None


def test_faultstrings_quote_only_a_short_escaped_fragment(guard):
    hostile = "<script>" + "A" * 5000
    fault = refused(guard, exchange(envelope(), SOAPAction=hostile))
    assert len(fault.message) < 160 and "A" * 100 not in fault.message
    rendered = faults.render_fault(fault, "cid")
    assert b"<script>" not in rendered
    etree.fromstring(rendered)  # still well-formed


def test_the_parser_never_reads_files_or_the_network(guard, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    # Even smuggled past the prolog check, libxml2 would not resolve: prove both layers.
    body = (f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
            + envelope("<ht:a>&e;</ht:a>", prolog=""))
    assert refused(guard, exchange(body)).code == faults.CLIENT_DTD_NOT_ALLOWED
    from soap_service.frontdoor.xml_guard import safe_parser

    root = etree.fromstring(body.encode(), safe_parser())
    assert b"TOPSECRET" not in etree.tostring(root)
