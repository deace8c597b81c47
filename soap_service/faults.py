"""Every refusal the service makes: stable fault codes, and one way to render a SOAP 1.1 Fault.

Fault codes are part of the public contract (clients match on them); they are listed in the
WSDL's documentation and in README. Add codes, never rename one.

    ServiceFault                  any refusal; carries code, public message, HTTP status
      (raised anywhere on the request path and rendered by `render_fault`)
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

from soap_service.contract.names import CONTRACT_NAMESPACE

SOAP11_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
CONTRACT_NS = CONTRACT_NAMESPACE

@dataclasses.dataclass(frozen=True)
class FaultSpec:
    """What one fault code means, declared once: the HTTP status it is sent with, the text
    for people (README's and the service page's fault tables are generated from it), and the
    metrics category that decides which counters it feeds besides highway_faults_total."""

    code: str
    status: int
    meaning: str
    category: str  # one of CATEGORIES
    retry_after: int | None = None  # seconds a client should wait, when the code says "later"


# request: the caller's message or data; http: refused before SOAP processing; auth:
# authentication or authorization (highway_auth_failures_total); limit: a rate limit or load
# shedding (highway_rate_limit_refusals_total); server: the service could not answer.
CATEGORIES = ("request", "http", "auth", "limit", "server")
# The `reason` label of highway_auth_failures_total: each auth refusal names one (ServiceFault
# label=), so the metric never depends on the wording of a log message.
AUTH_REASONS = (
    "missing_credentials", "bad_credentials", "replay", "cleartext_password", "role",
    "certificate", "signature", "timing", "malformed_token", "malformed_header", "other",
)
# The `scope` label of highway_rate_limit_refusals_total (ServiceFault label= of a limit).
LIMIT_SCOPES = (
    "ip", "principal", "in_flight", "auth_failure_ip", "auth_failure_account",
    "password_hashing",
)
REGISTRY: dict[str, FaultSpec] = {}


def _code(code: str, status: int, category: str, meaning: str,
          retry_after: int | None = None) -> str:
    """Declare a fault code (once) and return it, for the module constant."""
    assert code not in REGISTRY and category in CATEGORIES, code
    REGISTRY[code] = FaultSpec(code, status, meaning, category, retry_after)
    return code


# The Retry-After policy: the waits below are declared with their codes; a limit that knows
# when its window resets passes `retry_after=` instead. Overload clears in about a second (a
# slot or a connection frees up); a dependency outage is re-probed every second or two.
OVERLOAD_RETRY_SECONDS = 1
UNAVAILABLE_RETRY_SECONDS = 2


# SOAP 1.1 standard codes (soap: prefix), our dotted refinements of Client/Server, and the
# WS-Security 1.1 codes (wsse: prefix, section 12 of the SOAP Message Security spec).
# Order here is the order of the fault tables.
CLIENT_SCHEMA = _code("soap:Client.SchemaValidation", 500, "request",
                      "the Body does not meet the schema; the message names the element")
CLIENT_XML_SYNTAX = _code("soap:Client.XMLSyntaxError", 500, "request",
                          "empty, truncated or not well-formed body")
CLIENT_UNKNOWN_OPERATION = _code("soap:Client.UnknownOperation", 500, "request",
                                 "the Body's element is not one of our requests")
CLIENT_UNKNOWN_HIGHWAY = _code("soap:Client.UnknownHighway", 500, "request",
                               "a well-formed highway id not in the network (`9999`)")
CLIENT_UNKNOWN_DIRECTION = _code("soap:Client.UnknownDirection", 500, "request",
                                 "the highway does not run in that direction")
CLIENT_UNKNOWN_SEGMENT = _code("soap:Client.UnknownSegment", 500, "request",
                               "a batch item names an unknown segment (`observationIndex` in "
                               "the detail); nothing of the batch is stored")
CLIENT_VALUE_OUT_OF_RANGE = _code(
    "soap:Client.ValueOutOfRange", 500, "request",
    "a schema-valid value the service cannot use: a batch item's time more than 5 minutes "
    "ahead or 7 days old, or a year outside 0001-9999 (`24:00:00` and whitespace around a "
    "time are accepted as the schema says)")
VERSION_MISMATCH = _code("soap:VersionMismatch", 500, "request",
                         "an Envelope in another namespace than SOAP 1.1 (e.g. SOAP 1.2)")
MUST_UNDERSTAND = _code("soap:MustUnderstand", 500, "request",
                        "a mustUnderstand header block this service does not process")
CLIENT_INVALID_ENVELOPE = _code("soap:Client.InvalidEnvelope", 500, "request",
                                "not an Envelope, no or two Body, a Body without exactly one "
                                "element, extra content")
CLIENT_SOAPACTION_MISMATCH = _code("soap:Client.SOAPActionMismatch", 500, "request",
                                   "a non-empty SOAPAction that is not the Body operation's")
CLIENT_UNSUPPORTED_ENCODING = _code("soap:Client.UnsupportedEncoding", 500, "request",
                                    "the HTTP charset, byte-order mark and XML declaration "
                                    "disagree, or the body is not UTF-8/UTF-16")
CLIENT_DTD_NOT_ALLOWED = _code("soap:Client.DTDNotAllowed", 500, "request",
                               "a `DOCTYPE` (internal subset, external DTD, entities)")
CLIENT_ENTITY_NOT_ALLOWED = _code("soap:Client.EntityNotAllowed", 500, "request",
                                  "an entity reference (`&name;`)")
CLIENT_PI_NOT_ALLOWED = _code("soap:Client.ProcessingInstructionNotAllowed", 500, "request",
                              "a processing instruction anywhere")
CLIENT_XML_LIMIT = _code("soap:Client.XMLLimitExceeded", 500, "request",
                         "a shape limit; detail `limit` is `depth`, `elements`, `attributes`, "
                         "`namespaces`, `name-length` or `text-length`")
CLIENT = _code("soap:Client", 500, "request", "the request was refused (generic)")
CLIENT_BAD_HTTP_REQUEST = _code("soap:Client.BadHTTPRequest", 400, "http",
                                "malformed HTTP framing (request line, header, chunk); no or "
                                "two `Host` fields; a request-target that is not origin- or "
                                "http(s) absolute-form")
CLIENT_NOT_FOUND = _code("soap:Client.NotFound", 404, "http", "no such path")
CLIENT_METHOD_NOT_ALLOWED = _code("soap:Client.MethodNotAllowed", 405, "http",
                                  "wrong HTTP method for the path (`Allow` lists the right "
                                  "ones); `OPTIONS *`")
CLIENT_REQUEST_TIMEOUT = _code("soap:Client.RequestTimeout", 408, "http",
                               "headers or body later than their deadline (`--header-timeout`, "
                               "`--body-timeout`)")
CLIENT_REQUEST_TOO_LARGE = _code("soap:Client.RequestTooLarge", 413, "http",
                                 "body over `--max-body-bytes`")
CLIENT_UNSUPPORTED_MEDIA_TYPE = _code("soap:Client.UnsupportedMediaType", 415, "http",
                                      "not `text/xml`, a charset other than utf-8/utf-16 (none "
                                      "means utf-8), or a `Content-Encoding`")
CLIENT_TOO_MANY_CONNECTIONS = _code("soap:Client.TooManyConnections", 503, "http",
                                    "over `--max-connections-per-ip`",
                                    retry_after=OVERLOAD_RETRY_SECONDS)
WSSE_INVALID_SECURITY = _code(
    "wsse:InvalidSecurity", 500, "auth",
    "no credentials; a Basic Security Profile violation (duplicate or missing elements, no "
    "Password Type); a replay; a signature not covering Body/Timestamp, a non-local reference, "
    "duplicate ids, more than one Body, too many references/transforms; PasswordText over "
    "plain HTTP to a non-loopback listener (or through a proxy that received plain HTTP)")
WSSE_INVALID_SECURITY_TOKEN = _code("wsse:InvalidSecurityToken", 500, "auth",
                                    "PasswordDigest without Nonce/Created; bad Nonce encoding "
                                    "or size; bad Created; undecodable certificate")
WSSE_UNSUPPORTED_SECURITY_TOKEN = _code("wsse:UnsupportedSecurityToken", 500, "auth",
                                        "unknown Password Type; unknown header element; KeyInfo "
                                        "that is not a reference to the BinarySecurityToken")
WSSE_UNSUPPORTED_ALGORITHM = _code("wsse:UnsupportedAlgorithm", 500, "auth",
                                   "signature, digest, canonicalization or transform algorithm "
                                   "not allowed (SHA-1 without the legacy switch)")
WSSE_FAILED_AUTHENTICATION = _code(
    "wsse:FailedAuthentication", 500, "auth",
    "unknown user or wrong password/digest; a certificate not from `--wss-ca` or (with a "
    "valid signature) not mapped to an account; a client certificate not mapped; identities "
    "that disagree")
WSSE_FAILED_CHECK = _code("wsse:FailedCheck", 500, "auth",
                          "signature or digest value wrong; signing certificate expired or not "
                          "yet valid")
WSSE_MESSAGE_EXPIRED = _code("wsse:MessageExpired", 500, "auth",
                             "UsernameToken Created or Timestamp too old, too far ahead, or "
                             "expired")
WSSE_SECURITY_TOKEN_UNAVAILABLE = _code("wsse:SecurityTokenUnavailable", 500, "auth",
                                        "the signature references a token not in the Security "
                                        "header")
CLIENT_NOT_AUTHORIZED = _code("soap:Client.NotAuthorized", 500, "auth",
                              "authenticated, but the role may not call the operation")
CLIENT_RATE_LIMITED = _code(
    "soap:Client.RateLimited", 429, "limit",
    "too many requests per IP (`GET /` and `?wsdl` count too) or per principal, or too many "
    "failed logins from this IP or for this account; wait `retryAfterSeconds` (500 with "
    "`--strict-wsi-faults`)")
SERVER_OVERLOADED = _code("soap:Server.Overloaded", 503, "limit",
                          "too many requests in flight (`--max-in-flight`) or connections open "
                          "(`--max-connections`), or the password-hashing queue is full; "
                          "retry after `Retry-After`", retry_after=OVERLOAD_RETRY_SECONDS)
SERVER_UNAVAILABLE = _code("soap:Server.Unavailable", 503, "server",
                           "the database or the replay cache cannot answer now (fail closed); "
                           "retry after `Retry-After`", retry_after=UNAVAILABLE_RETRY_SECONDS)
SERVER = _code("soap:Server", 500, "server",
               "an unexpected error; details only in the server log (quote the correlation id)")

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
        http_status: int | None = None,
        headers: Sequence[tuple[str, str]] = (),
        detail: Mapping[str, str] | None = None,
        reason: str | None = None,
        label: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code, message)
        spec = REGISTRY.get(code)
        if spec is None:
            raise ValueError(f"fault code not declared in faults.py: {code!r}")
        self.code = code
        self.message = message
        # The registry's status unless the raise site must differ (--strict-wsi-faults: 500).
        self.http_status = spec.status if http_status is None else http_status
        self.headers = tuple(headers)
        self.detail = dict(detail or {})
        wait = spec.retry_after if retry_after is None else retry_after
        if wait is not None:  # the header and the detail always agree
            self.headers += (("Retry-After", str(wait)),)
            self.detail["retryAfterSeconds"] = str(wait)
        self.reason = reason
        # The metric label: an AUTH_REASONS entry for an auth fault, a LIMIT_SCOPES entry for
        # a limit; None otherwise.
        self.label = label

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
