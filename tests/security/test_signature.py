"""X.509 signatures: trust, algorithms, and the signature-wrapping defences."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from lxml import etree
from xmlsec import constants as xc

from client.wsse import UsernameTokenSigner, X509Signer
from soap_service import faults
from tests.security.conftest import PASSWORDS, Harness, Pki, build_envelope
from tests.security.pki import Issued
from tests.security.signing import DS, SOAP, WSSE, WSU, sign
from tests.soap_helpers import envelope as soap_envelope
from tests.soap_helpers import travel_times_body

REPORT = (
    "<t:ReportObservations><t:observation><t:sensorId>s1</t:sensorId>"
    "</t:observation></t:ReportObservations>"
)


def signed(issued: Issued, body: str | None = None) -> etree._Element:
    return build_envelope(X509Signer(issued.cert_pem, issued.key_pem), body=body)


def bare(body: str | None = None) -> etree._Element:
    return etree.fromstring(soap_envelope(body or travel_times_body("A1", "NB")))


def test_signed_request(harness: Harness, pki: Pki) -> None:
    exchange = harness.run(signed(pki.acme), operation="ReportObservations")
    assert exchange.principal is not None
    assert (exchange.principal.name, exchange.principal.role) == ("acme", "operator")
    assert exchange.principal.authenticated_by == "x509-signature"


def test_signature_plus_username_token_of_same_principal(harness: Harness, pki: Pki) -> None:
    root = build_envelope(
        UsernameTokenSigner("bob", PASSWORDS["bob"]), X509Signer(pki.bob.cert_pem, pki.bob.key_pem)
    )
    assert harness.run(root).principal.name == "bob"  # type: ignore[union-attr]


def test_signature_and_username_token_naming_different_users(harness: Harness, pki: Pki) -> None:
    root = build_envelope(
        UsernameTokenSigner("alice", PASSWORDS["alice"]),
        X509Signer(pki.acme.cert_pem, pki.acme.key_pem),
    )
    harness.refuse(root, faults.WSSE_FAILED_AUTHENTICATION)


def test_untrusted_ca(harness: Harness, pki: Pki) -> None:
    harness.refuse(signed(pki.stranger), faults.WSSE_FAILED_AUTHENTICATION)


def test_expired_certificate(harness: Harness, pki: Pki) -> None:
    harness.refuse(signed(pki.expired), faults.WSSE_FAILED_CHECK)


def test_unmapped_subject(harness: Harness, pki: Pki) -> None:
    harness.refuse(signed(pki.unmapped), faults.WSSE_FAILED_AUTHENTICATION)


def test_no_wss_ca_configured(make_harness: object, pki: Pki) -> None:
    harness = make_harness(wss_ca=None)  # type: ignore[operator]
    harness.refuse(signed(pki.acme), faults.WSSE_FAILED_AUTHENTICATION)


def test_tampered_body(harness: Harness, pki: Pki) -> None:
    root = signed(pki.acme)
    root.find(f"{SOAP}Body").find(".//{urn:highway-traffic:v1}highway").text = "B2"  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_FAILED_CHECK)


def test_bad_signature_value(harness: Harness, pki: Pki) -> None:
    root = signed(pki.acme)
    value = root.find(f".//{DS}SignatureValue")
    assert value is not None
    value.text = "AAAA" + (value.text or "")[4:]
    harness.refuse(root, faults.WSSE_FAILED_CHECK)


def test_signature_needs_timestamp(harness: Harness, pki: Pki) -> None:
    root = sign(bare(), pki.acme, cover=("body",), timestamp=False)
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_signature_must_cover_body(harness: Harness, pki: Pki) -> None:
    harness.refuse(sign(bare(), pki.acme, cover=("timestamp",)), faults.WSSE_INVALID_SECURITY)


def test_signature_must_cover_timestamp(harness: Harness, pki: Pki) -> None:
    harness.refuse(sign(bare(), pki.acme, cover=("body",)), faults.WSSE_INVALID_SECURITY)


def test_wrapping_signed_body_moved_to_header(harness: Harness, pki: Pki) -> None:
    """The classic attack: the signed Body goes into a header wrapper, a forged Body
    (a write the signer never asked for) takes its place."""
    root = signed(pki.bob)  # bob is a reader who signed a harmless GetTravelTimes
    body = root.find(f"{SOAP}Body")
    assert body is not None
    wrapper = etree.SubElement(root.find(f"{SOAP}Header"), "{urn:evil}Wrapper")  # type: ignore[arg-type]
    root.remove(body)
    wrapper.append(body)
    forged = etree.SubElement(root, f"{SOAP}Body")
    forged.append(etree.fromstring(soap_envelope(REPORT))[0][0])
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_wrapping_forged_body_reuses_the_id(harness: Harness, pki: Pki) -> None:
    root = signed(pki.bob)
    body = root.find(f"{SOAP}Body")
    assert body is not None
    wrapper = etree.SubElement(root.find(f"{SOAP}Header"), "{urn:evil}Wrapper")  # type: ignore[arg-type]
    wrapper.append(copy.deepcopy(body))  # the original, still with its wsu:Id
    body[0].getparent().replace(body[0], etree.fromstring(soap_envelope(REPORT))[0][0])
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_wrapping_original_renamed_inside_wrapper(harness: Harness, pki: Pki) -> None:
    """Signed Body kept (under another tag) in a wrapper with the referenced id; the
    dispatched Body has no id: the reference no longer names the dispatched Body."""
    root = signed(pki.bob)
    body = root.find(f"{SOAP}Body")
    assert body is not None
    ident = body.get(f"{WSU}Id")
    holder = etree.SubElement(root.find(f"{SOAP}Header"), "{urn:evil}Body")  # type: ignore[arg-type]
    holder.set(f"{WSU}Id", ident)  # type: ignore[arg-type]
    for child in list(body):
        holder.append(child)
    del body.attrib[f"{WSU}Id"]
    body.append(etree.fromstring(soap_envelope(REPORT))[0][0])
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_duplicate_ids(harness: Harness, pki: Pki) -> None:
    root = signed(pki.acme)
    ident = root.find(f"{SOAP}Body").get(f"{WSU}Id")  # type: ignore[union-attr]
    decoy = etree.SubElement(root.find(f"{SOAP}Header"), "{urn:evil}Decoy")  # type: ignore[arg-type]
    decoy.set("Id", ident)  # type: ignore[arg-type]  # unqualified Id counts too
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_moved_timestamp(harness: Harness, pki: Pki) -> None:
    """The signed (old) Timestamp moved into a wrapper, a fresh unsigned one in its place."""
    root = signed(pki.acme)
    security = root.find(f".//{WSSE}Security")
    timestamp = security.find(f"{WSU}Timestamp")  # type: ignore[union-attr]
    wrapper = etree.SubElement(root.find(f"{SOAP}Header"), "{urn:evil}Wrapper")  # type: ignore[arg-type]
    security.remove(timestamp)  # type: ignore[union-attr]
    wrapper.append(timestamp)
    fresh = copy.deepcopy(timestamp)
    fresh.set(f"{WSU}Id", "TS-fresh")
    security.insert(0, fresh)  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_two_bodies(harness: Harness, pki: Pki) -> None:
    root = signed(pki.acme)
    etree.SubElement(root.find(f"{SOAP}Header"), f"{SOAP}Body")  # type: ignore[arg-type]
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


@pytest.mark.parametrize(
    "uri",
    ["file:///etc/hostname", "http://127.0.0.1:9/x", "", "#xpointer(/)", "#xpointer(id('a'))"],
)
def test_non_local_references_never_reach_libxmlsec(
    harness: Harness, pki: Pki, tmp_path: Path, uri: str
) -> None:
    root = bare()
    if uri.startswith("file:"):
        # A signature that libxmlsec itself would accept: it really covers the file.
        target = tmp_path / "target.txt"
        target.write_text("hello")
        uri = target.as_uri()
        root = sign(root, pki.acme, uris=[uri])
    else:
        root = sign(root, pki.acme)
        reference = root.find(f".//{DS}Reference")
        reference.set("URI", uri)  # type: ignore[union-attr]
    # InvalidSecurity comes from our pre-check; libxmlsec would have said FailedCheck or OK.
    harness.refuse(root, faults.WSSE_INVALID_SECURITY)


def test_sha1_refused_unless_legacy(make_harness: object, pki: Pki) -> None:
    def sha1() -> etree._Element:
        return sign(
            bare(), pki.acme, sign_method=xc.TransformRsaSha1, digest_method=xc.TransformSha1
        )

    make_harness().refuse(sha1(), faults.WSSE_UNSUPPORTED_ALGORITHM)  # type: ignore[operator]
    legacy = make_harness(allow_sha1_signatures=True)  # type: ignore[operator]
    assert legacy.run(sha1()).principal.name == "acme"


def test_sha256_digest_with_sha1_signature_still_refused(harness: Harness, pki: Pki) -> None:
    harness.refuse(sign(bare(), pki.acme, sign_method=xc.TransformRsaSha1),
                   faults.WSSE_UNSUPPORTED_ALGORITHM)


def test_inclusive_c14n_transform_refused(harness: Harness, pki: Pki) -> None:
    harness.refuse(sign(bare(), pki.acme, transforms=(xc.TransformInclC14N,)),
                   faults.WSSE_UNSUPPORTED_ALGORITHM)


def test_too_many_transforms(harness: Harness, pki: Pki) -> None:
    harness.refuse(sign(bare(), pki.acme, transforms=(xc.TransformExclC14N,) * 6),
                   faults.WSSE_INVALID_SECURITY)


def test_too_many_references(make_harness: object, pki: Pki) -> None:
    harness = make_harness(max_signature_references=1)  # type: ignore[operator]
    harness.refuse(signed(pki.acme), faults.WSSE_INVALID_SECURITY)


def test_key_must_come_from_the_binary_security_token(harness: Harness, pki: Pki) -> None:
    root = signed(pki.acme)
    key_info = root.find(f".//{DS}KeyInfo")
    for child in list(key_info):  # type: ignore[arg-type]
        key_info.remove(child)  # type: ignore[union-attr]
    etree.SubElement(key_info, f"{DS}KeyName").text = "acme"  # type: ignore[arg-type]
    harness.refuse(root, faults.WSSE_UNSUPPORTED_SECURITY_TOKEN)


def test_swapped_token_fails_the_check(harness: Harness, pki: Pki) -> None:
    """Signed by acme's key, but the token claims bob's certificate."""
    root = signed(pki.acme)
    token = root.find(f".//{WSSE}BinarySecurityToken")
    other = signed(pki.bob).find(f".//{WSSE}BinarySecurityToken")
    token.text = other.text  # type: ignore[union-attr]
    harness.refuse(root, faults.WSSE_FAILED_CHECK)


def test_signed_message_replay(harness: Harness, pki: Pki) -> None:
    raw = etree.tostring(signed(pki.acme))
    assert harness.run(raw).principal is not None
    harness.refuse(raw, faults.WSSE_INVALID_SECURITY)
