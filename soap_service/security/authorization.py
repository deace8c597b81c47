"""Authorization: the principal's role must allow the Body's operation (never SOAPAction)."""

from __future__ import annotations

from soap_service import faults
from soap_service.core.exchange import Exchange
from soap_service.faults import ServiceFault
from soap_service.security import errors
from soap_service.security.wss_stage import NOTE_SECURITY_HEADER


class AuthorizationStage:
    """Refuses callers without a principal (when required) or without the operation's role."""

    def __init__(self, require_authentication: bool = True) -> None:
        self._require = require_authentication

    async def __call__(self, exchange: Exchange) -> None:
        """Let the request through, or raise wsse:InvalidSecurity / Client.NotAuthorized."""
        principal = exchange.principal
        if principal is None:
            if not self._require:
                return
            # No credentials at all is a missing-security error, as WSS4J reports it; the
            # reason tells the operator which of the two cases it was.
            if exchange.notes.get(NOTE_SECURITY_HEADER):
                raise errors.invalid_security(
                    "wsse:Security header carries no identity token", why="missing_credentials")
            raise errors.invalid_security(
                "no wsse:Security header and no client certificate", why="missing_credentials")
        operation = exchange.operation
        if operation is None or not principal.may_call(operation):
            raise ServiceFault(
                faults.CLIENT_NOT_AUTHORIZED,
                "The caller is not allowed to call this operation.",
                reason=f"role {principal.role} may not call {operation or '-'}",
                label="role",
            )
