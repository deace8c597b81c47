"""Mutual TLS identity: the client certificate's subject names a principal, and must agree
with any WS-Security identity in the same request."""

from __future__ import annotations

from soap_service.core.exchange import Exchange
from soap_service.core.principal import Principal
from soap_service.security import errors
from soap_service.security.accounts import AccountLookup, subject_of


class ClientCertificateStage:
    """Maps `transport.client_cert` to an account (the TLS layer already verified its chain).

    A certificate with no mapped account, or one naming a different principal than the
    WS-Security header, is refused with wsse:FailedAuthentication: in both cases the
    presented credentials do not authenticate the caller as one principal.
    """

    def __init__(self, accounts: AccountLookup) -> None:
        self._accounts = accounts

    async def __call__(self, exchange: Exchange) -> None:
        """Set or confirm exchange.principal from the client certificate, or refuse."""
        cert = exchange.transport.client_cert
        if cert is None:
            return
        subject = subject_of(cert)
        account = await self._accounts.by_cert_subject(subject)
        if account is None:
            raise errors.failed_authentication(
                f"no account for client certificate subject {subject[:120]!r}"
            , why="certificate")
        current = exchange.principal
        if current is None:
            exchange.principal = Principal(account.name, account.role, "mtls")
            exchange.notes["auth"] = "mtls"
        elif current.name != account.name:
            raise errors.failed_authentication(
                f"client certificate names {account.name!r}, "
                f"WS-Security names {current.name!r}"
            , why="certificate")
        else:
            exchange.notes["auth"] = f"{exchange.notes.get('auth', current.authenticated_by)}+mtls"
