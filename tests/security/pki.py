"""A small test PKI built with cryptography: CAs and leaf certificates with clean subjects."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


@functools.cache
def _rsa_key(slot: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make: a few are reused across certificates (slot = key number)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str, organization: str | None) -> x509.Name:
    """Most significant RDN first, so rfc4514_string() prints `CN=...,O=...`."""
    attributes = []
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


@dataclasses.dataclass
class Issued:
    """A certificate and its private key, as PEM."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def subject(self) -> str:
        return self.cert.subject.rfc4514_string()

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write cert and key PEM files; returns their paths."""
        cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert_path.write_bytes(self.cert_pem)
        key_path.write_bytes(self.key_pem)
        return cert_path, key_path


class TestCA(Issued):
    """A self-signed CA that issues leaf certificates."""

    __test__ = False  # not a pytest test class

    def __init__(self, name: str = "Highway Test CA", slot: int = 0) -> None:
        key = _rsa_key(slot)
        subject = _name(name, "Highway Tests")
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - 30 * DAY).not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        super().__init__(cert, key)

    def issue(
        self,
        common_name: str,
        organization: str | None = "Acme",
        *,
        slot: int = 1,
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
        server_name: str | None = None,
    ) -> Issued:
        """A leaf for client auth (and server auth with `server_name`), valid by default."""
        key = _rsa_key(slot)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organization)).issuer_name(self.cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before or NOW - DAY)
            .not_valid_after(not_after or NOW + 10 * DAY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        if server_name:
            try:
                general: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(server_name))
            except ValueError:
                general = x509.DNSName(server_name)
            builder = builder.add_extension(
                x509.SubjectAlternativeName([general]), critical=False
            )
        return Issued(builder.sign(self.key, hashes.SHA256()), key)
