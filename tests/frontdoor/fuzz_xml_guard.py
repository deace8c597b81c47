"""Atheris fuzz target for the front door's pre-parse checks and XML guard.

Every input must end in success or a ServiceFault (a SOAP fault), never another exception;
an accepted document must be a SOAP 1.1 envelope with no DTD and no processing instruction.
Run: python tests/frontdoor/fuzz_xml_guard.py [CORPUS_DIR] -max_total_time=20
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from soap_service import faults
    from soap_service.faults import ServiceFault
    from soap_service.frontdoor import envelope_rules, http_checks, xml_limits, xml_prolog
    from soap_service.frontdoor.xml_guard import XmlGuard

from lxml import etree

from soap_service.core.exchange import Exchange, TransportInfo

CHARSETS = (None, "utf-8", "utf-16", "UTF-8", "utf-7", "latin1")
ACTIONS = (None, "", '""', '"urn:highway-traffic:v1/ListHighways"', "urn:highway-traffic:v1/x")
ENVELOPE = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:ht="urn:highway-traffic:v1"><soap:Body>{}</soap:Body></soap:Envelope>'
)
# A small guard makes limits reachable by short inputs.
GUARD = XmlGuard(xml_limits.XmlLimits(depth=8, elements=64, attributes=4, namespaces=4,
                                      name_length=16, text_length=64))
_IS_PI = etree.XPath("boolean(//processing-instruction())")
_ = (envelope_rules, xml_prolog)  # instrumented above for coverage feedback


def one_input(data: bytes) -> None:
    """Run one fuzz input through check_soap_request and the guard."""
    provider = atheris.FuzzedDataProvider(data)
    charset = CHARSETS[provider.ConsumeIntInRange(0, len(CHARSETS) - 1)]
    action = ACTIONS[provider.ConsumeIntInRange(0, len(ACTIONS) - 1)]
    wrap = provider.ConsumeBool()
    body = provider.ConsumeBytes(provider.remaining_bytes())
    if wrap:  # put the fuzz bytes inside a valid envelope, to get past the root checks
        body = ENVELOPE.format(body.decode("utf-8", "replace")).encode("utf-8")
    headers = {"content-type": "text/xml" + (f"; charset={charset}" if charset else "")}
    if action is not None:
        headers["soapaction"] = action
    exchange = Exchange("fuzz", "POST", "/soap", headers, body, TransportInfo("127.0.0.1"))
    try:
        http_checks.check_soap_request("POST", "/soap", headers)
        GUARD.parse(exchange)
    except ServiceFault as fault:
        faults.render_fault(fault, "fuzz")  # every refusal must render
        return
    root = exchange.envelope
    assert root is not None and root.tag == envelope_rules.ENVELOPE
    assert root.getroottree().docinfo.internalDTD is None
    assert not _IS_PI(root)


def main() -> None:
    """Entry point: libFuzzer flags come from argv."""
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
