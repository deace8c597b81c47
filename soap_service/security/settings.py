"""WS-Security, mutual TLS and authorization settings."""

from __future__ import annotations

import dataclasses
import os

from soap_service.ratelimit.rules import parse_limit
from soap_service.settings_fields import int_between, non_negative_float, positive_int, setting


def _limit(text: str) -> str:
    """Validate a `limits` notation limit (`30/minute`) or `unlimited`; kept as text."""
    parse_limit(text)
    return text.strip()


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
    auth_failure_ip_limit: str = setting(
        "30/minute",
        flag="--auth-failure-ip-limit",
        parse=_limit,
        help="failed authentications allowed per client IP (IPv6: per /64); beyond it password "
        "checks from that IP get 429 Client.RateLimited until the window ends, except a "
        "password still in the verified-password cache; 'unlimited' to switch off",
    )
    auth_failure_account_limit: str = setting(
        "100/minute",
        flag="--auth-failure-account-limit",
        parse=_limit,
        help="failed authentications allowed per account name (from all IPs); beyond it "
        "uncached password checks for that name get 429 Client.RateLimited; keep it above "
        "the per-IP limit; 'unlimited' to switch off",
    )
    password_hash_threads: int = setting(
        2,
        flag="--password-hash-threads",
        parse=positive_int,
        help="scrypt password checks run at once, in their own threads (each ~32 MiB)",
    )
    password_hash_queue: int = setting(
        8,
        flag="--password-hash-queue",
        parse=int_between(0, 10_000, "checks"),
        help="scrypt checks that may wait for a thread; more get 503 Server.Overloaded at "
        "once (cached passwords and PasswordDigest never queue)",
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


@dataclasses.dataclass(frozen=True)
class TlsSettings:
    """HTTPS and mutual TLS on the SOAP listener."""

    tls_cert: str | None = setting(None, flag="--tls-cert", help="PEM server certificate (chain)")
    tls_key: str | None = setting(None, flag="--tls-key", help="PEM private key of --tls-cert")
    client_ca: str | None = setting(
        None, flag="--client-ca", help="PEM CA bundle; when set, a client certificate is required"
    )

    def __post_init__(self) -> None:
        # Caught here, before anything listens, with the flags named (not at listen time).
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError(
                "tls.tls_cert (--tls-cert) and tls.tls_key (--tls-key) must be given together"
            )
        if self.client_ca is not None and self.tls_cert is None:
            raise ValueError(
                "tls.client_ca (--client-ca) needs HTTPS: set --tls-cert and --tls-key too"
            )
        for name, flag in (
            ("tls_cert", "--tls-cert"),
            ("tls_key", "--tls-key"),
            ("client_ca", "--client-ca"),
        ):
            path = getattr(self, name)
            if path is not None and not os.path.isfile(path):
                raise ValueError(f"tls.{name} ({flag}): no such file: {path}")
