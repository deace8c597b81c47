"""check_soap_request: which requests reach SOAP processing, and the fault each other one gets."""

from __future__ import annotations

import pytest

from soap_service import faults
from soap_service.faults import ServiceFault
from soap_service.frontdoor.http_checks import (
    check_soap_request,
    parse_content_type,
    request_charset,
)


@pytest.mark.parametrize("content_type", [
    "text/xml", "text/xml; charset=utf-8", "TEXT/XML; Charset=UTF-8", 'text/xml; charset="utf-16"',
    "text/xml;charset=utf-8;action=x",
])
def test_soap_11_media_types_pass(content_type):
    check_soap_request("POST", "/soap", {"content-type": content_type})


@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), [
    ("POST", "/other", {"content-type": "text/xml"}, 404, faults.CLIENT_NOT_FOUND),
    ("PUT", "/soap", {"content-type": "text/xml"}, 405, faults.CLIENT_METHOD_NOT_ALLOWED),
    ("POST", "/soap", {}, 415, faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "application/soap+xml"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "text/xml; charset=latin1"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "text/xml, text/plain"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "text/xml; charset"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "text/xml", "content-encoding": "gzip"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
    ("POST", "/soap", {"content-type": "text/xml", "content-encoding": "gzip, identity"}, 415,
     faults.CLIENT_UNSUPPORTED_MEDIA_TYPE),
])
def test_refusals_carry_status_and_code(method, path, headers, status, code):
    with pytest.raises(ServiceFault) as caught:
        check_soap_request(method, path, headers)
    assert (caught.value.http_status, caught.value.code) == (status, code)


SERVED_GET_PATHS = frozenset({"/", "/healthz", "/readyz", "/soap"})  # as web/listener.py


@pytest.mark.parametrize(("method", "path", "get_paths", "allow"), [
    ("PUT", "/soap", SERVED_GET_PATHS, "GET, HEAD, POST"),  # /soap also serves GET ?wsdl
    ("DELETE", "/soap", frozenset(), "POST"),
    ("POST", "/healthz", SERVED_GET_PATHS, "GET, HEAD"),
    ("PUT", "/", SERVED_GET_PATHS, "GET, HEAD"),
])
def test_405_names_the_methods_the_path_takes(method, path, get_paths, allow):
    with pytest.raises(ServiceFault) as caught:
        check_soap_request(method, path, {}, get_paths)
    assert caught.value.http_status == 405 and ("Allow", allow) in caught.value.headers


def test_content_type_parsing():
    assert parse_content_type('text/xml; charset="UTF-8"') == ("text/xml", {"charset": "utf-8"})
    assert request_charset({"content-type": "text/xml"}) is None
    assert request_charset({"content-type": "text/xml;charset=utf-16"}) == "utf-16"
    with pytest.raises(ValueError):
        parse_content_type("textxml")
