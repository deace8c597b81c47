"""Who is calling: an authenticated principal and the roles it holds."""

from __future__ import annotations

import dataclasses

from soap_service.contract.names import OPERATIONS, READ_OPERATIONS

ROLES = ("reader", "operator", "admin")

# What each role may call; keyed by the Body's operation, never by SOAPAction.
OPERATIONS_BY_ROLE: dict[str, frozenset[str]] = {
    "reader": READ_OPERATIONS,
    "operator": frozenset(OPERATIONS),
    "admin": frozenset(OPERATIONS),
}


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated caller: account name, role, and how it proved who it is."""

    name: str
    role: str
    authenticated_by: str  # "password-text", "password-digest", "x509-signature", "mtls"

    def may_call(self, operation: str) -> bool:
        """True when this principal's role allows the operation."""
        return operation in OPERATIONS_BY_ROLE.get(self.role, frozenset())
