"""X.509 Token Profile signatures: the BinarySecurityToken, SignedInfo policy, coverage of
the dispatched Body and the Timestamp, then the cryptographic check with libxmlsec."""

from __future__ import annotations

import base64
import binascii
import hashlib

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from xmlsec import constants as xc

from soap_service import faults
from soap_service.core.principal import Principal
from soap_service.faults import WSSE_NS
from soap_service.security import errors
from soap_service.security.certs import CertificateTrust
from soap_service.security.replay_guard import ReplayGuard
from soap_service.security.settings import SecuritySettings
from soap_service.security.signed_info import SignedInfoPolicy
from soap_service.security.wsxml import (
    BASE64_BINARY,
    DS_NS,
    ID_ATTRIBUTES,
    X509V3,
    XML_ID,
    children,
    q,
    text_of,
)

BINARY_SECURITY_TOKEN = q(WSSE_NS, "BinarySecurityToken")
SECURITY_TOKEN_REFERENCE = q(WSSE_NS, "SecurityTokenReference")
WSSE_REFERENCE = q(WSSE_NS, "Reference")
SIGNATURE_VALUE = q(DS_NS, "SignatureValue")
KEY_INFO = q(DS_NS, "KeyInfo")

_SIGNATURE_TRANSFORMS = (
    xc.TransformExclC14N,
    xc.TransformRsaSha256, xc.TransformRsaSha384, xc.TransformRsaSha512,
    xc.TransformEcdsaSha256, xc.TransformEcdsaSha384, xc.TransformEcdsaSha512,
    xc.TransformRsaSha1,  # reachable only when SignedInfoPolicy allowed it (legacy)
)
# Digest methods are reference transforms in libxmlsec; SignedInfoPolicy picks among them.
_REFERENCE_TRANSFORMS = (
    xc.TransformExclC14N,
    xc.TransformSha256, xc.TransformSha384, xc.TransformSha512, xc.TransformSha1,
)


class SignatureVerifier:
    """Verifies the ds:Signature of a wsse:Security header and returns the signer's principal."""

    def __init__(
        self, settings: SecuritySettings, trust: CertificateTrust | None, replay: ReplayGuard
    ) -> None:
        self._policy = SignedInfoPolicy(settings)
        self._trust = trust
        self._replay = replay

    async def verify(
        self,
        *,
        security: etree._Element,
        signature: etree._Element,
        body: etree._Element,
        timestamp: etree._Element,
        ids: dict[str, etree._Element],
    ) -> Principal:
        """Check everything; `body` is the node the service will dispatch, `ids` the
        document's (already unique) id index."""
        if self._trust is None:
            raise errors.failed_authentication(
                "X.509 signature but no --wss-ca configured", why="certificate")
        signed_info = next((c for c in signature if isinstance(c.tag, str)), None)
        if signed_info is None:
            raise errors.invalid_security("empty Signature", why="signature")
        targets: list[tuple[str, etree._Element]] = []
        for ident in self._policy.referenced_ids(signed_info):
            target = ids.get(ident)
            if target is None:
                raise errors.invalid_security(
                    "Reference names no element of this document", why="signature")
            targets.append((ident, target))
        # The wrapping defence: the digests libxmlsec checks must include the very Body
        # element Spyne dispatches and the Timestamp we checked for freshness.
        if not any(t is body for _, t in targets):
            raise errors.invalid_security(
                "signature does not cover the dispatched Body", why="signature")
        if not any(t is timestamp for _, t in targets):
            raise errors.invalid_security("signature does not cover the Timestamp", why="signature")

        cert = self._signing_certificate(security, signature, ids)
        self._trust.check_trusted(cert)
        self._check_cryptography(signature, targets, cert)
        # Mapped only after the signature verified: no account-name oracle (see mapped_account).
        account = await self._trust.mapped_account(cert)
        # Replay identity is what was signed, not how SignatureValue is spelt: libxmlsec
        # decodes base64 leniently (line breaks, comments, pad bits), and ECDSA signatures are
        # malleable. The exclusive C14N of SignedInfo names every digest the signature covers.
        signed = etree.tostring(signed_info, method="c14n", exclusive=True, with_comments=False)
        await self._replay.first_use("sig", account.name, hashlib.sha256(signed).digest())
        return Principal(account.name, account.role, "x509-signature")

    def _signing_certificate(
        self, security: etree._Element, signature: etree._Element, ids: dict[str, etree._Element]
    ) -> x509.Certificate:
        """The certificate of the BinarySecurityToken that KeyInfo points to, and only that."""
        key_infos = children(signature, KEY_INFO)
        if len(key_infos) != 1:
            raise errors.invalid_security("Signature needs exactly one KeyInfo", why="signature")
        parts = [c for c in key_infos[0] if isinstance(c.tag, str)]
        if len(parts) != 1 or parts[0].tag != SECURITY_TOKEN_REFERENCE:
            raise errors.unsupported_token(
                "KeyInfo is not a SecurityTokenReference", why="signature")
        refs = [c for c in parts[0] if isinstance(c.tag, str)]
        if len(refs) != 1 or refs[0].tag != WSSE_REFERENCE:
            raise errors.unsupported_token(
                "SecurityTokenReference is not a direct Reference", why="signature")
        uri = refs[0].get("URI") or ""
        value_type = refs[0].get("ValueType")
        if not uri.startswith("#") or value_type not in (None, X509V3):
            raise errors.unsupported_token(
                "token reference is not a local X509v3 token", why="signature")
        token = ids.get(uri[1:])
        if token is None or token.tag != BINARY_SECURITY_TOKEN or token.getparent() is not security:
            raise errors.wss_fault(
                faults.WSSE_SECURITY_TOKEN_UNAVAILABLE,
                "referenced BinarySecurityToken is not in this Security header",
                why="signature")
        if token.get("ValueType") != X509V3:
            raise errors.unsupported_token("BinarySecurityToken is not X509v3", why="certificate")
        if token.get("EncodingType") != BASE64_BINARY:
            raise errors.invalid_token(
                "BinarySecurityToken EncodingType is not Base64Binary", why="certificate")
        try:
            der = base64.b64decode("".join(text_of(token).split()), validate=True)
            return x509.load_der_x509_certificate(der)
        except (binascii.Error, ValueError) as exc:
            raise errors.invalid_token(
                "BinarySecurityToken is not a DER certificate", why="certificate") from exc

    def _check_cryptography(
        self,
        signature: etree._Element,
        targets: list[tuple[str, etree._Element]],
        cert: x509.Certificate,
    ) -> None:
        """libxmlsec verifies SignatureValue and every digest, with our key and transforms."""
        ctx = xmlsec.SignatureContext()
        for transform in _SIGNATURE_TRANSFORMS:
            ctx.enable_signature_transform(transform)
        for transform in _REFERENCE_TRANSFORMS:
            ctx.enable_reference_transform(transform)
        try:
            # Setting the key makes libxmlsec ignore KeyInfo entirely (no retrieval).
            ctx.key = xmlsec.Key.from_memory(
                cert.public_bytes(Encoding.DER), xc.KeyDataFormatCertDer, None
            )
            for ident, target in targets:
                _register_id(ctx, target, ident)
            ctx.verify(signature)
        except xmlsec.Error as exc:
            raise errors.failed_check(
                f"signature verification failed: {exc}", why="signature") from exc


def _register_id(ctx: xmlsec.SignatureContext, element: etree._Element, ident: str) -> None:
    """Tell libxmlsec which attribute is this element's id (we checked it is unique)."""
    for attribute in ID_ATTRIBUTES:
        if attribute == XML_ID:
            continue  # libxml2 already treats xml:id as an id
        if element.get(attribute) == ident:
            qname = etree.QName(attribute)
            ctx.register_id(element, qname.localname, qname.namespace)
            return
