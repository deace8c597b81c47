"""The fault codes of soap_service/faults.py with the HTTP status and meaning, for people."""

from __future__ import annotations

from soap_service import faults

# Status and meaning per code. Codes missing here still appear on the page (from faults.py),
# with status 500 and no description, so a new code is never hidden.
_DESCRIPTIONS: dict[str, tuple[int, str]] = {
    faults.VERSION_MISMATCH: (500, "The envelope is not SOAP 1.1."),
    faults.MUST_UNDERSTAND: (500, "A mustUnderstand header this service does not process."),
    faults.CLIENT: (500, "The request was refused (generic)."),
    faults.SERVER: (500, "The service failed; quote the correlation id to support."),
    faults.CLIENT_XML_SYNTAX: (500, "The body is not well-formed XML."),
    faults.CLIENT_SCHEMA: (500, "The Body does not match the contract's schema."),
    faults.CLIENT_UNKNOWN_OPERATION: (500, "The Body holds no request this service offers."),
    faults.CLIENT_UNKNOWN_HIGHWAY: (500, "A well-formed highway id that is not in the network."),
    faults.CLIENT_UNKNOWN_DIRECTION: (500, "The highway does not run in that direction."),
    faults.CLIENT_UNKNOWN_SEGMENT: (500, "A batch item names an unknown segment (nothing stored)."),
    faults.CLIENT_VALUE_OUT_OF_RANGE: (500, "A schema-valid value the service cannot use: an "
                                            "observation more than 5 minutes ahead or 7 days "
                                            "old, a year outside 0001-9999."),
    faults.CLIENT_NOT_AUTHORIZED: (500, "Authenticated, but the role may not call the operation."),
    faults.CLIENT_NOT_FOUND: (404, "No such resource."),
    faults.CLIENT_METHOD_NOT_ALLOWED: (405, "Wrong HTTP method for this path (Allow lists the "
                                            "right ones)."),
    faults.CLIENT_RATE_LIMITED: (429, "Too many requests per IP (GET / and ?wsdl count too) "
                                      "or per principal, or too many failed logins from this "
                                      "IP or for this account; wait retryAfterSeconds. 500 "
                                      "with --strict-wsi-faults."),
    faults.SERVER_OVERLOADED: (503, "Too many requests in flight or connections open, or "
                                    "the password-hashing queue is full; wait "
                                    "retryAfterSeconds."),
    faults.SERVER_UNAVAILABLE: (503, "The database or the replay cache cannot answer (fail "
                                     "closed); retry after Retry-After."),
    faults.CLIENT_REQUEST_TOO_LARGE: (413, "The request body is larger than allowed."),
    faults.CLIENT_REQUEST_TIMEOUT: (408, "The request was not received in time."),
    faults.CLIENT_UNSUPPORTED_MEDIA_TYPE: (415, "Send Content-Type text/xml with charset utf-8 "
                                                "or utf-16 (none means utf-8) and no "
                                                "Content-Encoding."),
    faults.CLIENT_TOO_MANY_CONNECTIONS: (503, "Too many connections from this address."),
    faults.CLIENT_BAD_HTTP_REQUEST: (400, "Malformed HTTP framing."),
    faults.CLIENT_UNSUPPORTED_ENCODING: (500, "The body is neither UTF-8 nor UTF-16 with a "
                                              "byte-order mark, or its charset, BOM and XML "
                                              "declaration disagree."),
    faults.CLIENT_DTD_NOT_ALLOWED: (500, "A DOCTYPE is not allowed."),
    faults.CLIENT_PI_NOT_ALLOWED: (500, "Processing instructions are not allowed."),
    faults.CLIENT_ENTITY_NOT_ALLOWED: (500, "Entity references are not allowed."),
    faults.CLIENT_XML_LIMIT: (500, "The XML is too deep, too wide or too long."),
    faults.CLIENT_INVALID_ENVELOPE: (500, "The envelope breaks SOAP 1.1 structure rules."),
    faults.CLIENT_SOAPACTION_MISMATCH: (500, "SOAPAction does not match the Body's operation."),
    faults.WSSE_UNSUPPORTED_SECURITY_TOKEN: (500, "A token type this service does not accept."),
    faults.WSSE_UNSUPPORTED_ALGORITHM: (500, "A signature or digest algorithm not accepted."),
    faults.WSSE_INVALID_SECURITY: (500, "The Security header is missing, malformed or "
                                        "replayed, or PasswordText was sent over plain HTTP "
                                        "to a non-loopback listener."),
    faults.WSSE_INVALID_SECURITY_TOKEN: (500, "A malformed security token."),
    faults.WSSE_FAILED_AUTHENTICATION: (500, "The credentials do not authenticate anyone."),
    faults.WSSE_FAILED_CHECK: (500, "A signature or digest did not verify."),
    faults.WSSE_SECURITY_TOKEN_UNAVAILABLE: (500, "A referenced token could not be found."),
    faults.WSSE_MESSAGE_EXPIRED: (500, "Created/Expires outside the accepted time window."),
}


def fault_codes() -> list[str]:
    """Every fault code constant defined in faults.py, sorted, without duplicates."""
    codes = {
        value for name, value in vars(faults).items()
        if name.isupper() and isinstance(value, str) and value.startswith(("soap:", "wsse:"))
    }
    return sorted(codes, key=lambda code: (code.startswith("wsse:"), code))


def fault_rows() -> list[tuple[str, int, str]]:
    """(code, HTTP status, meaning) for every fault code."""
    return [(code, *_DESCRIPTIONS.get(code, (500, ""))) for code in fault_codes()]
