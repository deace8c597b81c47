"""Client-certificate identity, its agreement with WS-Security, and role-based authorization."""

from __future__ import annotations

from lxml import etree

from client.wsse import UsernameTokenSigner
from soap_service import faults
from soap_service.core.exchange import TransportInfo
from soap_service.core.principal import Principal
from tests.security.conftest import PASSWORDS, Harness, Pki, build_envelope
from tests.security.pki import Issued
from tests.soap_helpers import envelope as soap_envelope
from tests.soap_helpers import travel_times_body


def mtls(issued: Issued) -> TransportInfo:
    return TransportInfo(peer_ip="192.0.2.7", is_tls=True, client_cert=issued.cert)


def plain() -> etree._Element:
    return etree.fromstring(soap_envelope(travel_times_body("A1", "NB")))


def ut(user: str) -> etree._Element:
    return build_envelope(UsernameTokenSigner(user, PASSWORDS[user]))


def test_client_certificate_alone_names_the_principal(harness: Harness, pki: Pki) -> None:
    exchange = harness.run(plain(), transport=mtls(pki.acme), operation="ReportObservations")
    assert exchange.principal is not None
    assert (exchange.principal.name, exchange.principal.authenticated_by) == ("acme", "mtls")


def test_unmapped_client_certificate(harness: Harness, pki: Pki) -> None:
    harness.refuse(plain(), faults.WSSE_FAILED_AUTHENTICATION, transport=mtls(pki.unmapped))


def test_client_certificate_and_username_token_agree(harness: Harness, pki: Pki) -> None:
    exchange = harness.run(ut("bob"), transport=mtls(pki.bob))
    assert exchange.principal is not None and exchange.principal.name == "bob"
    assert exchange.notes["auth"] == "password-text+mtls"


def test_mismatched_mtls_and_wss_identity(harness: Harness, pki: Pki) -> None:
    fault = harness.refuse(ut("alice"), faults.WSSE_FAILED_AUTHENTICATION, transport=mtls(pki.bob))
    assert "alice" in (fault.reason or "") and "bob" in (fault.reason or "")


def test_no_credentials_at_all(harness: Harness) -> None:
    fault = harness.refuse(plain(), faults.WSSE_INVALID_SECURITY)
    assert "no wsse:Security header" in (fault.reason or "")


def test_authentication_can_be_switched_off(make_harness: object) -> None:
    harness = make_harness(require_authentication=False)  # type: ignore[operator]
    assert harness.run(plain()).principal is None


def test_off_still_verifies_credentials_that_are_sent(make_harness: object) -> None:
    harness = make_harness(require_authentication=False)  # type: ignore[operator]
    root = build_envelope(UsernameTokenSigner("alice", "wrong-password"))
    harness.refuse(root, faults.WSSE_FAILED_AUTHENTICATION)


def test_off_still_applies_roles(make_harness: object) -> None:
    harness = make_harness(require_authentication=False)  # type: ignore[operator]
    harness.refuse(ut("alice"), faults.CLIENT_NOT_AUTHORIZED, operation="ReportObservations")


def test_reader_may_read(harness: Harness) -> None:
    for operation in ("ListHighways", "GetTravelTimes"):
        assert harness.run(ut("alice"), operation=operation).principal is not None


def test_reader_may_not_report(harness: Harness) -> None:
    fault = harness.refuse(ut("alice"), faults.CLIENT_NOT_AUTHORIZED,
                           operation="ReportObservations")
    assert fault.message == "The caller is not allowed to call this operation."


def test_operator_may_report(harness: Harness, pki: Pki) -> None:
    assert harness.run(plain(), transport=mtls(pki.acme), operation="ReportObservations")


def test_unknown_role_gets_nothing() -> None:
    assert not Principal("x", "superuser", "mtls").may_call("ListHighways")
