"""Server TLS: HTTPS with TLS 1.2 or newer and, with a client CA, required client certificates."""

from __future__ import annotations

from typing import Any

from cryptography import x509
from OpenSSL import crypto
from twisted.internet import ssl

from soap_service.security.settings import TlsSettings


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc.strerror}") from exc


def server_tls_options(tls: TlsSettings) -> ssl.CertificateOptions:
    """CertificateOptions for the listener; raises ValueError naming the bad file."""
    if not tls.tls_cert or not tls.tls_key:
        raise ValueError("--tls-cert and --tls-key must be given together")
    cert_pem = _read(tls.tls_cert, "--tls-cert")
    key_pem = _read(tls.tls_key, "--tls-key")
    certs = x509.load_pem_x509_certificates(cert_pem)
    leaf, chain = certs[0], certs[1:]
    key = crypto.load_privatekey(crypto.FILETYPE_PEM, key_pem)
    kwargs: dict[str, Any] = {
        "privateKey": key,
        "certificate": crypto.X509.from_cryptography(leaf),
        "extraCertChain": [crypto.X509.from_cryptography(c) for c in chain],
        "raiseMinimumTo": ssl.TLSVersion.TLSv1_2,
        # Twisted always installs an ALPN callback; when the listening factory is wrapped
        # (connection caps) it cannot see the Site's protocols and answers every ALPN client
        # (requests, curl) with an internal-error alert. Naming HTTP/1.1 here fixes that.
        "acceptableProtocols": [b"http/1.1"],
    }
    if tls.client_ca:
        authorities = [
            ssl.Certificate.loadPEM(c.public_bytes(_pem()))
            for c in x509.load_pem_x509_certificates(_read(tls.client_ca, "--client-ca"))
        ]
        # With trustRoot set, Twisted requires and verifies the client's certificate.
        kwargs["trustRoot"] = ssl.trustRootFromCertificates(authorities)
    return ssl.CertificateOptions(**kwargs)


def _pem() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.PEM


def peer_certificate(transport: Any) -> x509.Certificate | None:
    """The verified client certificate of a TLS connection, if the client sent one."""
    get_peer = getattr(transport, "getPeerCertificate", None)
    if get_peer is None:
        return None
    try:
        cert = get_peer()
    except Exception:  # noqa: BLE001 - no TLS session or no certificate
        return None
    if cert is None:
        return None
    return cert.to_cryptography()
