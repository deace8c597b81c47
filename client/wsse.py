"""WS-Security for the client: zeep-style plugins that add UsernameToken, Timestamp and an
X.509 signature (RSA-SHA256, SHA-256 digests, exclusive C14N) to an outgoing envelope.

Each object has zeep's `apply(envelope, headers)` / `verify(envelope)` interface, so it can be
passed as `zeep.Client(wsse=...)` or used on a bare lxml envelope. Several mechanisms go in
one `zeep.wsse.Compose` (applied in order; zeep calls `verify` on the object it was given,
which a plain list lacks).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from lxml import etree
from xmlsec import constants as xc
from zeep.wsse import Compose

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_UT = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = _UT + "#PasswordText"
PASSWORD_DIGEST = _UT + "#PasswordDigest"
BASE64_BINARY = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
_NSMAP = {"wsse": WSSE_NS, "wsu": WSU_NS}

Clock = Callable[[], datetime.datetime]
Headers = Any


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _xsd_datetime(value: datetime.datetime) -> str:
    utc = value.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _wsse(local: str) -> str:
    return f"{{{WSSE_NS}}}{local}"


def _wsu(local: str) -> str:
    return f"{{{WSU_NS}}}{local}"


def security_header(envelope: etree._Element) -> etree._Element:
    """The envelope's wsse:Security header block, created (mustUnderstand=1) if absent."""
    soap_ns = etree.QName(envelope).namespace
    header = envelope.find(f"{{{soap_ns}}}Header")
    if header is None:
        header = etree.Element(f"{{{soap_ns}}}Header")
        envelope.insert(0, header)
    security = header.find(_wsse("Security"))
    if security is None:
        security = etree.SubElement(header, _wsse("Security"), nsmap={"wsse": WSSE_NS})
        security.set(f"{{{soap_ns}}}mustUnderstand", "1")
    return security


def ensure_id(element: etree._Element, prefix: str) -> str:
    """The element's wsu:Id, adding a random one if it has none."""
    ident = element.get(_wsu("Id"))
    if ident is None:
        ident = f"{prefix}-{secrets.token_hex(8)}"
        element.set(_wsu("Id"), ident)
    return ident


class _Mechanism:
    """Shared zeep plugin plumbing: responses are not signed by the service, so `verify`
    accepts them unchanged."""

    def apply(self, envelope: etree._Element, headers: Headers) -> tuple[etree._Element, Headers]:
        """Add this mechanism's header content; return the envelope and HTTP headers."""
        raise NotImplementedError

    def verify(self, envelope: etree._Element) -> etree._Element:
        """Accept a response envelope (the service signs no responses)."""
        return envelope


class UsernameTokenSigner(_Mechanism):
    """Adds a UsernameToken: PasswordText, or PasswordDigest = B64(SHA1(nonce+created+pw)).
    Both carry a fresh Nonce and Created so the server can refuse replays."""

    def __init__(
        self, username: str, password: str, *, digest: bool = False, clock: Clock = _utcnow
    ) -> None:
        self.username = username
        self._password = password
        self.digest = digest
        self._clock = clock

    def __repr__(self) -> str:
        return (
            f"UsernameTokenSigner(username={self.username!r}, password='***', "
            f"digest={self.digest})"
        )

    def apply(self, envelope: etree._Element, headers: Headers) -> tuple[etree._Element, Headers]:
        """Add the UsernameToken to the Security header."""
        nonce = secrets.token_bytes(16)
        created = _xsd_datetime(self._clock())
        token = etree.SubElement(security_header(envelope), _wsse("UsernameToken"), nsmap=_NSMAP)
        ensure_id(token, "UsernameToken")
        etree.SubElement(token, _wsse("Username")).text = self.username
        password = etree.SubElement(token, _wsse("Password"))
        if self.digest:
            material = nonce + created.encode() + self._password.encode("utf-8")
            password.text = base64.b64encode(hashlib.sha1(material).digest()).decode()
            password.set("Type", PASSWORD_DIGEST)
        else:
            password.text = self._password
            password.set("Type", PASSWORD_TEXT)
        nonce_el = etree.SubElement(token, _wsse("Nonce"), EncodingType=BASE64_BINARY)
        nonce_el.text = base64.b64encode(nonce).decode()
        etree.SubElement(token, _wsu("Created")).text = created
        return envelope, headers


class TimestampSigner(_Mechanism):
    """Adds a wsu:Timestamp with Created (now) and Expires (now + ttl)."""

    def __init__(self, ttl_seconds: float = 300.0, *, clock: Clock = _utcnow) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def apply(self, envelope: etree._Element, headers: Headers) -> tuple[etree._Element, Headers]:
        """Add the Timestamp as the Security header's first child (as WSS4J writes it)."""
        now = self._clock()
        timestamp = etree.Element(_wsu("Timestamp"), nsmap={"wsu": WSU_NS})
        ensure_id(timestamp, "TS")
        etree.SubElement(timestamp, _wsu("Created")).text = _xsd_datetime(now)
        expires = now + datetime.timedelta(seconds=self.ttl_seconds)
        etree.SubElement(timestamp, _wsu("Expires")).text = _xsd_datetime(expires)
        security_header(envelope).insert(0, timestamp)
        return envelope, headers


class X509Signer(_Mechanism):
    """Signs the Body and the Timestamp with an X.509 key (X.509 Token Profile).

    Adds a Timestamp if there is none, the certificate as a BinarySecurityToken, and a
    ds:Signature (RSA-SHA256 or ECDSA-SHA256, SHA-256 digests, exclusive C14N) whose KeyInfo
    is a SecurityTokenReference to that token. Apply it after any UsernameToken.
    """

    def __init__(
        self,
        cert_pem: bytes,
        key_pem: bytes,
        *,
        key_password: bytes | None = None,
        ttl_seconds: float = 300.0,
        clock: Clock = _utcnow,
    ) -> None:
        self._cert = x509.load_pem_x509_certificate(cert_pem)
        key = load_pem_private_key(key_pem, key_password)
        self._method = (
            xc.TransformEcdsaSha256 if isinstance(key, ec.EllipticCurvePrivateKey)
            else xc.TransformRsaSha256
        )
        self._key_pem = key_pem
        self._key_password = key_password.decode() if key_password else None
        self._timestamps = TimestampSigner(ttl_seconds, clock=clock)

    @classmethod
    def from_files(cls, cert_path: str, key_path: str, **kwargs: Any) -> X509Signer:
        """Load the PEM certificate and PEM private key from files."""
        with open(cert_path, "rb") as cert_file, open(key_path, "rb") as key_file:
            return cls(cert_file.read(), key_file.read(), **kwargs)

    def __repr__(self) -> str:
        return f"X509Signer(subject={self._cert.subject.rfc4514_string()!r}, key='***')"

    def apply(self, envelope: etree._Element, headers: Headers) -> tuple[etree._Element, Headers]:
        """Add Timestamp (if missing), BinarySecurityToken and Signature."""
        security = security_header(envelope)
        timestamp = security.find(_wsu("Timestamp"))
        if timestamp is None:
            self._timestamps.apply(envelope, headers)
            timestamp = security.find(_wsu("Timestamp"))
        assert timestamp is not None
        soap_ns = etree.QName(envelope).namespace
        body = envelope.find(f"{{{soap_ns}}}Body")
        if body is None:
            raise ValueError("envelope has no Body to sign")

        token = etree.Element(
            _wsse("BinarySecurityToken"), nsmap=_NSMAP, EncodingType=BASE64_BINARY,
            ValueType=X509V3,
        )
        token_id = ensure_id(token, "X509")
        token.text = base64.b64encode(self._cert.public_bytes(Encoding.DER)).decode()
        timestamp.addnext(token)

        signature = xmlsec.template.create(envelope, xc.TransformExclC14N, self._method, ns="ds")
        targets = [(body, ensure_id(body, "Body")), (timestamp, ensure_id(timestamp, "TS"))]
        for _node, ident in targets:
            reference = xmlsec.template.add_reference(
                signature, xc.TransformSha256, uri="#" + ident
            )
            xmlsec.template.add_transform(reference, xc.TransformExclC14N)
        key_info = xmlsec.template.ensure_key_info(signature)
        reference_holder = etree.SubElement(key_info, _wsse("SecurityTokenReference"))
        etree.SubElement(
            reference_holder, _wsse("Reference"), URI="#" + token_id, ValueType=X509V3
        )
        security.append(signature)

        ctx = xmlsec.SignatureContext()
        ctx.key = xmlsec.Key.from_memory(
            self._key_pem, xc.KeyDataFormatPem, self._key_password
        )
        for node, _ident in targets:
            ctx.register_id(node, "Id", WSU_NS)
        ctx.sign(signature)
        return envelope, headers


def build_wsse(
    *,
    username: str | None = None,
    password: str | None = None,
    digest: bool = False,
    cert: str | None = None,
    key: str | None = None,
) -> Compose | None:
    """The zeep `wsse` object for HighwayClient's options, or None when none is given."""
    mechanisms: list[_Mechanism] = []
    if username is not None:
        if password is None:
            raise ValueError("username= needs password=")
        mechanisms.append(UsernameTokenSigner(username, password, digest=digest))
    elif digest:
        raise ValueError("digest=True needs username= and password=")
    if (cert is None) != (key is None):
        raise ValueError("cert= and key= go together")
    if cert is not None and key is not None:
        mechanisms.append(X509Signer.from_files(cert, key))  # adds the Timestamp it signs
    return Compose(mechanisms) if mechanisms else None

