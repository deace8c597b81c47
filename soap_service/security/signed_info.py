"""Checking ds:SignedInfo before libxmlsec sees it: algorithms, and references that can only
name elements of this document that we have located ourselves (signature-wrapping defence)."""

from __future__ import annotations

import re

from lxml import etree

from soap_service.security import errors
from soap_service.security.settings import SecuritySettings
from soap_service.security.wsxml import DS_NS, EXC_C14N, children, q

SIGNED_INFO = q(DS_NS, "SignedInfo")
C14N_METHOD = q(DS_NS, "CanonicalizationMethod")
SIGNATURE_METHOD = q(DS_NS, "SignatureMethod")
REFERENCE = q(DS_NS, "Reference")
TRANSFORMS = q(DS_NS, "Transforms")
TRANSFORM = q(DS_NS, "Transform")
DIGEST_METHOD = q(DS_NS, "DigestMethod")

_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_ENC = "http://www.w3.org/2001/04/xmlenc#"
STRONG_SIGNATURES = frozenset({
    _MORE + "rsa-sha256", _MORE + "rsa-sha384", _MORE + "rsa-sha512",
    _MORE + "ecdsa-sha256", _MORE + "ecdsa-sha384", _MORE + "ecdsa-sha512",
})
SHA1_SIGNATURE = DS_NS + "rsa-sha1"
STRONG_DIGESTS = frozenset({_ENC + "sha256", _MORE + "sha384", _ENC + "sha512"})
SHA1_DIGEST = DS_NS + "sha1"

# A bare-name XPointer (`#id`) and nothing else: no file:, http:, empty URI, or xpointer().
_SAME_DOCUMENT_ID = re.compile(r"^#([A-Za-z_][A-Za-z0-9_.\-]{0,127})$")


def _exactly_one(parent: etree._Element, tag: str) -> etree._Element:
    found = children(parent, tag)
    if len(found) != 1:
        raise errors.invalid_security(
            f"{etree.QName(tag).localname} appears {len(found)} times", why="signature")
    return found[0]


def _algorithm(element: etree._Element) -> str:
    return element.get("Algorithm") or ""


class SignedInfoPolicy:
    """Enforces the algorithm and reference rules of one verifier configuration."""

    def __init__(self, settings: SecuritySettings) -> None:
        self._settings = settings
        self._signatures = set(STRONG_SIGNATURES)
        self._digests = set(STRONG_DIGESTS)
        if settings.allow_sha1_signatures:  # explicit legacy switch only
            self._signatures.add(SHA1_SIGNATURE)
            self._digests.add(SHA1_DIGEST)

    def referenced_ids(self, signed_info: etree._Element) -> list[str]:
        """Check SignedInfo; return the id each Reference names (in order)."""
        if signed_info.tag != SIGNED_INFO:
            raise errors.invalid_security(
                "Signature does not start with SignedInfo", why="signature")
        if _algorithm(_exactly_one(signed_info, C14N_METHOD)) != EXC_C14N:
            raise errors.unsupported_algorithm(
                "SignedInfo canonicalization is not exclusive C14N", why="signature")
        if _algorithm(_exactly_one(signed_info, SIGNATURE_METHOD)) not in self._signatures:
            raise errors.unsupported_algorithm("signature method not allowed", why="signature")
        references = children(signed_info, REFERENCE)
        if not references:
            raise errors.invalid_security("SignedInfo has no Reference", why="signature")
        if len(references) > self._settings.max_signature_references:
            raise errors.invalid_security(
                f"SignedInfo has {len(references)} references", why="signature")
        return [self._check_reference(ref) for ref in references]

    def _check_reference(self, reference: etree._Element) -> str:
        match = _SAME_DOCUMENT_ID.match(reference.get("URI") or "")
        if match is None:
            raise errors.invalid_security(
                "Reference URI is not a same-document #id", why="signature")
        for child in reference:
            if isinstance(child.tag, str) and child.tag not in (
                TRANSFORMS, DIGEST_METHOD, q(DS_NS, "DigestValue")
            ):
                raise errors.invalid_security("Reference has an unexpected child", why="signature")
        transforms_els = children(reference, TRANSFORMS)
        if len(transforms_els) != 1:
            raise errors.invalid_security("Reference needs exactly one Transforms", why="signature")
        transforms = [t for t in transforms_els[0] if isinstance(t.tag, str)]
        if not transforms or any(t.tag != TRANSFORM for t in transforms):
            raise errors.invalid_security(
                "Transforms holds no or unexpected elements", why="signature")
        if len(transforms) > self._settings.max_reference_transforms:
            raise errors.invalid_security(
                f"Reference has {len(transforms)} transforms", why="signature")
        for transform in transforms:
            # Exclusive C14N only: no XSLT, XPath, enveloped or base64 transforms.
            if _algorithm(transform) != EXC_C14N:
                raise errors.unsupported_algorithm(
                    "reference transform not allowed", why="signature")
        if _algorithm(_exactly_one(reference, DIGEST_METHOD)) not in self._digests:
            raise errors.unsupported_algorithm("digest method not allowed", why="signature")
        return match.group(1)
