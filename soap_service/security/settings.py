"""WS-Security, mutual TLS and authorization settings."""

from __future__ import annotations

import dataclasses

from soap_service.settings_fields import non_negative_float, positive_int, setting


@dataclasses.dataclass(frozen=True)
class SecuritySettings:
    """How callers prove who they are; safe by default (every operation needs a principal)."""

    require_authentication: bool = setting(
        True, flag="--require-auth", help="every operation needs an authenticated principal"
    )
    wss_ca: str | None = setting(
        None,
        flag="--wss-ca",
        help="PEM CA bundle that signing certificates (BinarySecurityToken) must chain to; "
        "without it, X.509 signatures are refused",
    )
    max_age_seconds: float = setting(
        300.0,
        flag="--wss-max-age",
        parse=non_negative_float,
        help="oldest accepted UsernameToken/Timestamp Created, in seconds (WSS4J: 300)",
    )
    future_skew_seconds: float = setting(
        60.0,
        flag="--wss-future-skew",
        parse=non_negative_float,
        help="how far ahead of our clock a Created may be, in seconds (WSS4J: 60)",
    )
    require_timestamp_expires: bool = setting(
        True, flag="--wss-require-expires", help="a wsu:Timestamp must carry exactly one Expires"
    )
    max_nonce_bytes: int = setting(
        64, flag="--wss-max-nonce-bytes", parse=positive_int, help="largest decoded Nonce"
    )
    max_signature_references: int = setting(
        8,
        flag="--wss-max-references",
        parse=positive_int,
        help="most ds:Reference elements one signature may have",
    )
    max_reference_transforms: int = setting(
        5,
        flag="--wss-max-transforms",
        parse=positive_int,
        help="most ds:Transform elements one ds:Reference may have",
    )
    allow_sha1_signatures: bool = setting(
        False,
        flag="--allow-sha1-signatures",
        help="legacy: accept RSA-SHA1 signatures and SHA-1 digests (weak; off by default)",
    )
    password_cache_seconds: float = setting(
        60.0,
        flag="--auth-cache-seconds",
        parse=non_negative_float,
        help="how long a verified PasswordText is remembered in memory to skip scrypt (0: never)",
    )
    account_key_file: str | None = setting(
        None,
        flag="--account-key-file",
        help="key file encrypting PasswordDigest secrets at rest (default: <db>.accounts-key "
        "for SQLite; required with PostgreSQL: the same file on every machine)",
    )
    accounts_key_file: str | None = setting(
        None,
        flag="--accounts-key-file",
        help="the same as --account-key-file (the spelling issue 13 uses)",
    )

    @property
    def digest_key_file(self) -> str | None:
        """The configured account key file, whichever spelling gave it."""
        return self.account_key_file or self.accounts_key_file

    @property
    def replay_window_seconds(self) -> float:
        """How long a (username, nonce) pair must be remembered: the whole acceptance window."""
        return self.max_age_seconds + self.future_skew_seconds
