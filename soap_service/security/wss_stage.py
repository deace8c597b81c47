"""The WS-Security stage: finds our wsse:Security header, runs each check, sets the principal."""

from __future__ import annotations

from lxml import etree

from soap_service.core.exchange import Exchange
from soap_service.core.principal import Principal
from soap_service.faults import SOAP11_ENV_NS, WSSE_NS, WSU_NS
from soap_service.security import errors
from soap_service.security.signature import BINARY_SECURITY_TOKEN, SignatureVerifier
from soap_service.security.timestamp import TimestampVerifier
from soap_service.security.usernametoken import UsernameTokenVerifier
from soap_service.security.wsxml import (
    DS_NS,
    SOAP_BODY,
    SOAP_HEADER,
    WSSE_SECURITY,
    children,
    element_ids,
    q,
)

USERNAME_TOKEN = q(WSSE_NS, "UsernameToken")
TIMESTAMP = q(WSU_NS, "Timestamp")
SIGNATURE = q(DS_NS, "Signature")
_ACTOR = q(SOAP11_ENV_NS, "actor")
_NEXT = "http://schemas.xmlsoap.org/soap/actor/next"

# Set on exchange.notes so the authorization stage can say why there is no principal.
NOTE_SECURITY_HEADER = "wss_header"


def security_headers(envelope: etree._Element) -> list[etree._Element]:
    """The wsse:Security headers addressed to us (no actor, or the `next` actor)."""
    found: list[etree._Element] = []
    for header in children(envelope, SOAP_HEADER):
        for block in children(header, WSSE_SECURITY):
            if block.get(_ACTOR) in (None, _NEXT):
                found.append(block)
    return found


def _dispatched_body(envelope: etree._Element) -> etree._Element:
    """The one Body element in the document, which must be the Envelope's child Spyne reads."""
    bodies = list(envelope.iter(SOAP_BODY))
    if len(bodies) != 1 or bodies[0].getparent() is not envelope:
        raise errors.invalid_security(
            f"document has {len(bodies)} soap:Body elements", why="malformed_header")
    return bodies[0]


def _unique_ids(envelope: etree._Element) -> dict[str, etree._Element]:
    """id -> element for the whole document; any repeated id is refused (wrapping defence)."""
    unique: dict[str, etree._Element] = {}
    for value, elements in element_ids(envelope).items():
        if len(elements) > 1:
            raise errors.invalid_security(
                "an id value is used more than once in the document", why="malformed_header")
        unique[value] = elements[0]
    return unique


class WsSecurityStage:
    """Verifies the wsse:Security header (Timestamp, UsernameToken, X.509 Signature)."""

    def __init__(
        self,
        usernames: UsernameTokenVerifier,
        timestamps: TimestampVerifier,
        signatures: SignatureVerifier,
    ) -> None:
        self._usernames = usernames
        self._timestamps = timestamps
        self._signatures = signatures

    async def __call__(self, exchange: Exchange) -> None:
        """Set exchange.principal from the header, leave it unset without one, or refuse."""
        envelope = exchange.envelope
        if envelope is None:
            return
        headers = security_headers(envelope)
        exchange.notes[NOTE_SECURITY_HEADER] = bool(headers)
        if not headers:
            return
        if len(headers) > 1:
            raise errors.invalid_security(
                "more than one wsse:Security header for this actor", why="malformed_header")
        security = headers[0]
        body = _dispatched_body(envelope)
        ids = _unique_ids(envelope)

        tokens: dict[str, list[etree._Element]] = {}
        for child in security:
            if not isinstance(child.tag, str):
                continue
            if child.tag not in (USERNAME_TOKEN, TIMESTAMP, SIGNATURE, BINARY_SECURITY_TOKEN):
                name = etree.QName(child).localname
                raise errors.unsupported_token(
                    f"unsupported header element {name}", why="malformed_header")
            tokens.setdefault(child.tag, []).append(child)
        for tag in (USERNAME_TOKEN, TIMESTAMP, SIGNATURE):
            if len(tokens.get(tag, [])) > 1:
                raise errors.invalid_security(
                    f"more than one {etree.QName(tag).localname}", why="malformed_header")
        timestamp = tokens.get(TIMESTAMP, [None])[0]
        signature = tokens.get(SIGNATURE, [None])[0]
        username_token = tokens.get(USERNAME_TOKEN, [None])[0]

        if timestamp is not None:
            self._timestamps.verify(timestamp)
        principals: list[Principal] = []
        if signature is not None:
            if timestamp is None:
                raise errors.invalid_security(
                    "a signed message needs a wsu:Timestamp", why="signature")
            principals.append(await self._signatures.verify(
                security=security, signature=signature, body=body,
                timestamp=timestamp, ids=ids,
            ))
        if username_token is not None:
            principals.append(await self._usernames.verify(username_token, exchange.transport))
        if len({p.name for p in principals}) > 1:
            raise errors.failed_authentication(
                "UsernameToken and signature name different users", why="bad_credentials")
        if principals:
            exchange.principal = principals[0]
            exchange.notes["auth"] = "+".join(p.authenticated_by for p in principals)
