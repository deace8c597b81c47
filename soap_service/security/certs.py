"""Trusting X.509 certificates: validity now, a chain to the configured CA, a mapped account."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from soap_service.security import errors
from soap_service.security.accounts import Account, AccountLookup, subject_of

MIN_RSA_BITS = 2048


def load_ca_bundle(path: str) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; raises ValueError when there is none."""
    with open(path, "rb") as handle:
        certs = x509.load_pem_x509_certificates(handle.read())
    if not certs:
        raise ValueError(f"no certificate in {path}")
    return certs


class CertificateTrust:
    """Decides whether a signing certificate is trusted, and which account it names."""

    def __init__(
        self,
        anchors: list[x509.Certificate],
        accounts: AccountLookup,
        clock: Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self._store = Store(anchors)
        self._accounts = accounts
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))

    async def account_for(self, cert: x509.Certificate) -> Account:
        """The account this certificate authenticates, or a WS-Security fault
        (`check_trusted`, then `mapped_account`).

        Expired or not-yet-valid: wsse:FailedCheck (as WSS4J's Merlin reports it).
        Not chaining to our CA, weak key, or no mapped account: wsse:FailedAuthentication.
        """
        self.check_trusted(cert)
        return await self.mapped_account(cert)

    def check_trusted(self, cert: x509.Certificate) -> None:
        """Validity period, key strength and chain to --wss-ca; raises a WS-Security fault."""
        now = self._clock()
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise errors.failed_check("signing certificate is not valid now", why="certificate")
        key = cert.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < MIN_RSA_BITS:
                raise errors.failed_authentication(
                    f"RSA key of {key.key_size} bits", why="certificate")
        elif not isinstance(key, ec.EllipticCurvePublicKey):
            raise errors.failed_authentication(
                "certificate key is neither RSA nor EC", why="certificate")
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            # The CA side keeps the Web PKI rules; the leaf may lack SAN/EKU, as many
            # enterprise signing certificates do.
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(cert, [])
        except VerificationError as exc:
            reason = f"certificate not trusted by --wss-ca: {exc}"
            raise errors.failed_authentication(reason, why="certificate") from exc

    async def mapped_account(self, cert: x509.Certificate) -> Account:
        """The account mapped to an already trusted certificate's subject, or
        wsse:FailedAuthentication. The signature stage calls it only after the signature
        verified, so a public certificate with a forged signature cannot tell mapped
        subjects from unmapped ones (both get wsse:FailedCheck)."""
        account = await self._accounts.by_cert_subject(subject_of(cert))
        if account is None:
            raise errors.failed_authentication(
                f"no account for certificate subject {subject_of(cert)[:120]!r}"
            , why="certificate")
        return account
