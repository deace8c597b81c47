"""Coarse, bounded labels for fault reasons: metrics must never get one series per message."""

from __future__ import annotations

from soap_service import faults
from soap_service.faults import ServiceFault

# Reasons are free text written by the security stages (for the log); metrics get one of these
# few words instead. First match wins; anything else is "other".
_AUTH_REASONS: tuple[tuple[str, str], ...] = (
    ("replayed", "replay"),
    ("rejected for user", "bad_credentials"),
    ("no wsse:security header", "missing_credentials"),
    ("carries no identity token", "missing_credentials"),
    ("cleartext", "cleartext_password"),
    ("may not call", "role"),
    ("certificate", "certificate"),
    ("key of", "certificate"),
    ("wss-ca", "certificate"),
    ("signature", "signature"),
    ("reference", "signature"),
    ("digest", "signature"),
    ("signedinfo", "signature"),
    ("transform", "signature"),
    ("created", "timing"),
    ("expire", "timing"),
    ("nonce", "malformed_token"),
    ("password", "malformed_token"),
    ("usernametoken", "malformed_token"),
    ("timestamp", "malformed_token"),
)
_BY_CODE = {
    faults.WSSE_MESSAGE_EXPIRED: "timing",
    faults.WSSE_UNSUPPORTED_ALGORITHM: "signature",
    faults.WSSE_FAILED_CHECK: "signature",
    faults.CLIENT_NOT_AUTHORIZED: "role",
}
AUTH_REASON_LABELS = frozenset(label for _, label in _AUTH_REASONS) | {"other"}


def auth_failure_reason(fault: ServiceFault) -> str:
    """One of AUTH_REASON_LABELS for a wsse:* or Client.NotAuthorized fault."""
    reason = (fault.reason or "").lower()
    for needle, label in _AUTH_REASONS:
        if needle in reason:
            return label
    return _BY_CODE.get(fault.code, "other")


def rate_limit_scope(fault: ServiceFault) -> str | None:
    """`ip`, `principal`, `in_flight`, `auth_failure_ip`, `auth_failure_account` or
    `password_hashing` for a limit refusal; None for any other fault."""
    reason = fault.reason or ""
    if fault.code == faults.SERVER_OVERLOADED:
        return "password_hashing" if reason.startswith("password hashing") else "in_flight"
    if fault.code != faults.CLIENT_RATE_LIMITED:
        return None
    if reason.startswith("auth-failure"):
        return "auth_failure_account" if "account" in reason else "auth_failure_ip"
    return "ip" if reason.startswith("ip") else "principal"


AUTH_THROTTLE_SCOPES = frozenset({"auth_failure_ip", "auth_failure_account", "password_hashing"})
