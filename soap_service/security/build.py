"""Building the security stages from settings: the one call web/assembly.py makes."""

from __future__ import annotations

import ipaddress
import logging
import os
from typing import Any

from soap_service.ratelimit.auth_failures import AuthFailureThrottle, HashingQueue, Window
from soap_service.security.accounts import AccountLookup
from soap_service.security.authorization import AuthorizationStage
from soap_service.security.certs import CertificateTrust, load_ca_bundle
from soap_service.security.demo import ensure_demo_account
from soap_service.security.digest_secrets import DigestSecretBox, key_file_for
from soap_service.security.mtls_stage import ClientCertificateStage
from soap_service.security.passwords import VerifiedPasswordCache
from soap_service.security.replay_guard import ReplayGuard
from soap_service.security.settings import SecuritySettings
from soap_service.security.signature import SignatureVerifier
from soap_service.security.timestamp import TimestampVerifier
from soap_service.security.usernametoken import UsernameTokenVerifier
from soap_service.security.wss_stage import WsSecurityStage
from soap_service.state.replay import ReplayCache

log = logging.getLogger("highway.security")


def digest_key_file(settings: SecuritySettings, db_path: str) -> str | None:
    """The account key file for this store (digest_secrets.key_file_for's one rule)."""
    return key_file_for(db_path, settings.digest_key_file)


def load_digest_box(settings: SecuritySettings, db_path: str) -> DigestSecretBox | None:
    """The keys for PasswordDigest secrets, or None (digest logins then all fail) if absent.

    Without --account-key-file the key sits next to a SQLite file; a PostgreSQL store shared
    by several machines has no such place, so the key file must be configured (the same file
    on every machine). Raises OSError/ValueError for a key file that exists but is unusable."""
    path = digest_key_file(settings, db_path)
    if path is None or not os.path.exists(path):
        return None
    return DigestSecretBox.from_file(path)


def build_security_stages(
    settings: SecuritySettings,
    conn: Any,
    replay_cache: ReplayCache,
    *,
    db_path: str,
    loopback_listener: bool = False,
    accounts: AccountLookup,
    listener_url: str | None = None,
) -> list[Any]:
    """WS-Security -> mTLS identity -> authorization, in that order, ready for the pipeline.

    `conn` is a migrated synchronous connection (for the demo account at start);
    `accounts` is the serving path's asynchronous lookup; `replay_cache` is the shared state
    backend's cache (memory or Redis). With no accounts yet and a loopback listener, a demo
    account is created and its password printed, with `listener_url` (the endpoint actually
    bound) as HIGHWAY_URL on the same line. Raises ValueError/OSError for an unreadable
    CA or key.
    """
    if settings.require_authentication:
        ensure_demo_account(conn, loopback=loopback_listener,
                            key_path=digest_key_file(settings, db_path), url=listener_url)
    replay = ReplayGuard(replay_cache, settings.replay_window_seconds)
    trust = (
        CertificateTrust(load_ca_bundle(settings.wss_ca), accounts) if settings.wss_ca else None
    )
    box = load_digest_box(settings, db_path)
    if box is None:
        where = digest_key_file(settings, db_path)
        if where is None:  # PostgreSQL: a shared store, the key must be configured
            log.warning("PasswordDigest is disabled: no account key file (a PostgreSQL store "
                        "needs --accounts-key-file, the same file on every machine)")
        else:
            log.info("PasswordDigest is disabled: no account key file (%s does not exist)",
                     where)
    usernames = UsernameTokenVerifier(
        settings, accounts, replay,
        digest_box=box,
        password_cache=VerifiedPasswordCache(settings.password_cache_seconds),
        throttle=AuthFailureThrottle(Window.parse(settings.auth_failure_ip_limit),
                                     Window.parse(settings.auth_failure_account_limit)),
        hashing=HashingQueue(settings.password_hash_threads, settings.password_hash_queue),
    )
    return [
        WsSecurityStage(
            usernames, TimestampVerifier(settings), SignatureVerifier(settings, trust, replay)
        ),
        ClientCertificateStage(accounts),
        AuthorizationStage(settings.require_authentication),
    ]


def is_loopback_host(host: str) -> bool:
    """True for a loopback listening address (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
