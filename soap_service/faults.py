"""Every refusal the service makes: stable fault codes, and one way to render a SOAP 1.1 Fault.

Fault codes are part of the public contract (clients match on them); they are listed in the
WSDL's documentation and in README. Add codes, never rename one.

    ServiceFault                  any refusal; carries code, public message, HTTP status
      (raised anywhere on the request path and rendered by `render_fault`)
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
CONTRACT_NS = "urn:highway-traffic:v1"

# SOAP 1.1 standard codes (soap: prefix) and our dotted refinements of Client/Server.
VERSION_MISMATCH = "soap:VersionMismatch"
MUST_UNDERSTAND = "soap:MustUnderstand"
CLIENT = "soap:Client"
SERVER = "soap:Server"
CLIENT_XML_SYNTAX = "soap:Client.XMLSyntaxError"
CLIENT_SCHEMA = "soap:Client.SchemaValidation"
CLIENT_UNKNOWN_OPERATION = "soap:Client.UnknownOperation"
CLIENT_UNKNOWN_HIGHWAY = "soap:Client.UnknownHighway"
CLIENT_UNKNOWN_DIRECTION = "soap:Client.UnknownDirection"
CLIENT_UNKNOWN_SEGMENT = "soap:Client.UnknownSegment"
CLIENT_VALUE_OUT_OF_RANGE = "soap:Client.ValueOutOfRange"
CLIENT_NOT_AUTHORIZED = "soap:Client.NotAuthorized"
CLIENT_NOT_FOUND = "soap:Client.NotFound"
CLIENT_METHOD_NOT_ALLOWED = "soap:Client.MethodNotAllowed"
CLIENT_RATE_LIMITED = "soap:Client.RateLimited"
SERVER_OVERLOADED = "soap:Server.Overloaded"
SERVER_UNAVAILABLE = "soap:Server.Unavailable"
# Front door (frontdoor/): HTTP-level refusals (status in the comment) and XML pre-checks (500).
CLIENT_REQUEST_TOO_LARGE = "soap:Client.RequestTooLarge"  # 413
CLIENT_REQUEST_TIMEOUT = "soap:Client.RequestTimeout"  # 408
CLIENT_UNSUPPORTED_MEDIA_TYPE = "soap:Client.UnsupportedMediaType"  # 415
CLIENT_METHOD_NOT_ALLOWED = "soap:Client.MethodNotAllowed"  # 405
CLIENT_NOT_FOUND = "soap:Client.NotFound"  # 404
CLIENT_TOO_MANY_CONNECTIONS = "soap:Client.TooManyConnections"  # 503 (per peer address)
CLIENT_BAD_HTTP_REQUEST = "soap:Client.BadHTTPRequest"  # 400 (malformed HTTP framing)
CLIENT_UNSUPPORTED_ENCODING = "soap:Client.UnsupportedEncoding"
CLIENT_DTD_NOT_ALLOWED = "soap:Client.DTDNotAllowed"
CLIENT_PI_NOT_ALLOWED = "soap:Client.ProcessingInstructionNotAllowed"
CLIENT_ENTITY_NOT_ALLOWED = "soap:Client.EntityNotAllowed"
CLIENT_XML_LIMIT = "soap:Client.XMLLimitExceeded"
CLIENT_INVALID_ENVELOPE = "soap:Client.InvalidEnvelope"
CLIENT_SOAPACTION_MISMATCH = "soap:Client.SOAPActionMismatch"

# WS-Security 1.1 fault codes (wsse: prefix), section 12 of the SOAP Message Security spec.
WSSE_UNSUPPORTED_SECURITY_TOKEN = "wsse:UnsupportedSecurityToken"
WSSE_UNSUPPORTED_ALGORITHM = "wsse:UnsupportedAlgorithm"
WSSE_INVALID_SECURITY = "wsse:InvalidSecurity"
WSSE_INVALID_SECURITY_TOKEN = "wsse:InvalidSecurityToken"
WSSE_FAILED_AUTHENTICATION = "wsse:FailedAuthentication"
WSSE_FAILED_CHECK = "wsse:FailedCheck"
WSSE_SECURITY_TOKEN_UNAVAILABLE = "wsse:SecurityTokenUnavailable"
WSSE_MESSAGE_EXPIRED = "wsse:MessageExpired"

_PREFIX_NAMESPACES = {"soap": SOAP11_ENV_NS, "wsse": WSSE_NS}


def new_correlation_id() -> str:
    """A short random id that ties a fault the caller sees to the server's log line."""
    return secrets.token_hex(8)


def truncate_fragment(text: str, limit: int = 60) -> str:
    """A short, printable excerpt of untrusted input, safe to put in a faultstring."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text[: limit + 1])
    return cleaned[:limit] + ("..." if len(text) > limit else "")


class ServiceFault(Exception):
    """A refusal with a stable fault code, a public message and the HTTP status to send.

    `reason` is for the server log only (it may name the user or the failed check); the
    caller sees `message`, which must never reveal more than the code does.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int = 500,
        headers: Sequence[tuple[str, str]] = (),
        detail: Mapping[str, str] | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(code, message)
        if code.split(":", 1)[0] not in _PREFIX_NAMESPACES:
            raise ValueError(f"fault code needs a soap: or wsse: prefix: {code!r}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.headers = tuple(headers)
        self.detail = dict(detail or {})
        self.reason = reason

    @property
    def short_code(self) -> str:
        """The code without its prefix, as it appears in logs and metrics (`Client.RateLimited`)."""
        return self.code.split(":", 1)[1]

    def __repr__(self) -> str:
        return f"ServiceFault({self.code!r}, {self.message!r}, http_status={self.http_status})"


def render_fault(fault: ServiceFault, correlation_id: str) -> bytes:
    """Serialize a fault as a SOAP 1.1 envelope (UTF-8), with the correlation id in its detail."""
    prefix = fault.code.split(":", 1)[0]
    extra_ns = f' xmlns:wsse="{WSSE_NS}"' if prefix == "wsse" else ""
    items = [("code", fault.short_code), ("correlationId", correlation_id)]
    items.extend(fault.detail.items())
    detail = "".join(f"<ht:{name}>{escape(str(value))}</ht:{name}>" for name, value in items)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP11_ENV_NS}"{extra_ns}><soap:Body><soap:Fault>'
        f"<faultcode>{fault.code}</faultcode>"
        f"<faultstring>{escape(fault.message)}</faultstring>"
        f'<detail><ht:ServiceFault xmlns:ht="{CONTRACT_NS}">{detail}</ht:ServiceFault></detail>'
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode()
