"""Every zeep and http.client internal client/compat.py relies on still behaves as expected."""

from __future__ import annotations

from typing import Any

import pytest
import zeep

from client import compat
from client.client import bundled_wsdl_path


def test_version_outside_the_tested_range_fails_with_the_range() -> None:
    compat._check("zeep", "4.3.3", compat.ZEEP_TESTED)
    with pytest.raises(compat.UnsupportedVersion, match=r"zeep 5\.0\.1 .*>= 4\.3, < 4\.4"):
        compat._check("zeep", "5.0.1", compat.ZEEP_TESTED)


def test_service_address_of_the_bundled_contract_and_of_a_bound_service() -> None:
    client = zeep.Client(bundled_wsdl_path())
    assert compat.service_address(client.service).startswith("http")
    bound = client.create_service(next(iter(client.wsdl.bindings)), "http://192.0.2.1:9/soap")
    assert compat.service_address(bound) == "http://192.0.2.1:9/soap"


class _Socket:
    """Records what the connection sends."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def sendall(self, data: Any) -> None:
        self.writes.append(bytes(data))


def test_one_write_connection_sends_head_and_body_together() -> None:
    conn = compat.OneWriteConnection("192.0.2.1", 9)
    sock = _Socket()
    conn.sock = sock  # as if connected: http.client then only writes to it
    conn.request("POST", "/soap", body=b"<x/>", headers={"Content-Type": "text/xml"})
    (write,) = sock.writes
    head, body = write.split(b"\r\n\r\n", 1)
    assert head.startswith(b"POST /soap HTTP/1.1\r\n") and b"Content-Length: 4" in head
    assert body == b"<x/>"
    # A body that is not bytes goes through http.client's own path (several writes).
    other = compat.OneWriteConnection("192.0.2.1", 9)
    other.sock = sock = _Socket()
    other.request("POST", "/soap", body=iter([b"a", b"b"]), headers={"Content-Length": "2"})
    assert sock.writes[1:] == [b"a", b"b"]


def test_a_hand_built_response_serves_the_body_it_was_given() -> None:
    import requests

    response = requests.Response()
    response.status_code = 200
    response.encoding = "utf-8"
    compat.set_body(response, "<é/>".encode())
    assert response.content == "<é/>".encode() and response.text == "<é/>"


def test_the_pinned_zeep_is_inside_the_fenced_range() -> None:
    import configparser

    from tests.conftest import ROOT

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options"]["install_requires"].splitlines()
    (pin,) = [line.split("==", 1)[1] for line in lines if line.strip().startswith("zeep==")]
    compat._check("zeep", pin, compat.ZEEP_TESTED)
