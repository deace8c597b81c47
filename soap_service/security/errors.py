"""WS-Security refusals: the spec's generic faultstrings, specific reasons for the log only."""

from __future__ import annotations

from soap_service import faults
from soap_service.faults import ServiceFault

# Faultstrings from WS-Security 1.1 section 12: they say which class of check failed and
# nothing more (no "unknown user" vs "wrong password" oracle).
_GENERIC: dict[str, str] = {
    faults.WSSE_UNSUPPORTED_SECURITY_TOKEN: "An unsupported token was provided",
    faults.WSSE_UNSUPPORTED_ALGORITHM: "An unsupported signature or encryption algorithm was used",
    faults.WSSE_INVALID_SECURITY: "An error was discovered processing the <wsse:Security> header",
    faults.WSSE_INVALID_SECURITY_TOKEN: "An invalid security token was provided",
    faults.WSSE_FAILED_AUTHENTICATION: (
        "The security token could not be authenticated or authorized"
    ),
    faults.WSSE_FAILED_CHECK: "The signature or decryption was invalid",
    faults.WSSE_SECURITY_TOKEN_UNAVAILABLE: "Referenced security token could not be retrieved",
    faults.WSSE_MESSAGE_EXPIRED: "The message has expired",
}


def wss_fault(code: str, reason: str, *, why: str) -> ServiceFault:
    """A WS-Security fault with the generic public text; `reason` goes to the access log only,
    `why` (one of faults.AUTH_REASONS) is the metric's reason label.

    Reasons must never contain a password, a nonce or a digest value.
    """
    if why not in faults.AUTH_REASONS:
        raise ValueError(f"unknown auth failure reason label {why!r}")
    return ServiceFault(code, _GENERIC[code], reason=reason, label=why)


def invalid_security(reason: str, *, why: str) -> ServiceFault:
    """The Security header breaks a structural or policy rule (BSP, replay, coverage)."""
    return wss_fault(faults.WSSE_INVALID_SECURITY, reason, why=why)


def invalid_token(reason: str, *, why: str) -> ServiceFault:
    """A token is malformed (bad encoding, missing Nonce/Created for a digest)."""
    return wss_fault(faults.WSSE_INVALID_SECURITY_TOKEN, reason, why=why)


def unsupported_token(reason: str, *, why: str) -> ServiceFault:
    """A token type or key reference this service does not accept."""
    return wss_fault(faults.WSSE_UNSUPPORTED_SECURITY_TOKEN, reason, why=why)


def unsupported_algorithm(reason: str, *, why: str) -> ServiceFault:
    """A signature, digest or canonicalization algorithm this service does not accept."""
    return wss_fault(faults.WSSE_UNSUPPORTED_ALGORITHM, reason, why=why)


def failed_authentication(reason: str, *, why: str) -> ServiceFault:
    """The credentials do not authenticate anyone (unknown user, wrong password, bad cert)."""
    return wss_fault(faults.WSSE_FAILED_AUTHENTICATION, reason, why=why)


def failed_check(reason: str, *, why: str) -> ServiceFault:
    """A cryptographic check failed (signature value, digest, expired certificate)."""
    return wss_fault(faults.WSSE_FAILED_CHECK, reason, why=why)


def message_expired(reason: str, *, why: str) -> ServiceFault:
    """A Created/Expires is outside the accepted window."""
    return wss_fault(faults.WSSE_MESSAGE_EXPIRED, reason, why=why)


def state_unavailable(reason: str) -> ServiceFault:
    """The replay cache cannot answer: fail closed, and tell the caller to retry later."""
    return ServiceFault(
        faults.SERVER_UNAVAILABLE,
        "The service is temporarily unable to verify requests; retry later.",
        reason=reason,
    )
