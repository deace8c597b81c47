"""UsernameToken Profile 1.1 on the server: BSP structure, freshness, replay, Text/Digest."""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any

from lxml import etree

from soap_service.core.exchange import TransportInfo
from soap_service.core.principal import Principal
from soap_service.faults import WSSE_NS, WSU_NS
from soap_service.ratelimit.auth_failures import AuthFailureThrottle, HashingQueue
from soap_service.security import errors
from soap_service.security.accounts import Account, AccountLookup
from soap_service.security.digest_secrets import DigestSecretBox
from soap_service.security.passwords import (
    VerifiedPasswordCache,
    hash_password,
    verify_password,
    verify_password_async,
)
from soap_service.security.replay_guard import ReplayGuard
from soap_service.security.settings import SecuritySettings
from soap_service.security.wsxml import (
    BASE64_BINARY,
    PASSWORD_DIGEST,
    PASSWORD_TEXT,
    parse_datetime,
    q,
    text_of,
)

# Not a valid account name (accounts.py): the dummy digest secret can never be anyone's.
_DUMMY_ACCOUNT = "\x00no-such-account"
USERNAME = q(WSSE_NS, "Username")
PASSWORD = q(WSSE_NS, "Password")
NONCE = q(WSSE_NS, "Nonce")
CREATED = q(WSU_NS, "Created")



@functools.cache
def _dummy_hash() -> str:
    """Checked against when the user does not exist, so unknown users cost the same scrypt
    time as known ones (no timing oracle for account names)."""
    return hash_password("not-a-real-password")


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """Base64(SHA-1(nonce + created + password)), the UsernameToken Profile's digest."""
    material = nonce + created.encode("utf-8") + password.encode("utf-8")
    return base64.b64encode(hashlib.sha1(material).digest()).decode("ascii")


def _by_tag(token: etree._Element) -> dict[Any, list[etree._Element]]:
    """The token's children grouped by tag, in one pass."""
    grouped: dict[Any, list[etree._Element]] = {}
    for child in token:
        grouped.setdefault(child.tag, []).append(child)
    return grouped


def _one(grouped: dict[Any, list[etree._Element]], tag: str, *, required: bool
         ) -> etree._Element | None:
    """BSP: exactly one (required) or at most one (optional) child with this tag."""
    found = grouped.get(tag, ())
    name = etree.QName(tag).localname if len(found) != 1 else ""
    if len(found) > 1:
        raise errors.invalid_security(
            f"UsernameToken has {len(found)} {name}", why="malformed_token")
    if required and not found:
        raise errors.invalid_security(f"UsernameToken has no {name}", why="malformed_token")
    return found[0] if found else None


class UsernameTokenVerifier:
    """Checks one wsse:UsernameToken and returns the principal it authenticates."""

    def __init__(
        self,
        settings: SecuritySettings,
        accounts: AccountLookup,
        replay: ReplayGuard,
        *,
        digest_box: DigestSecretBox | None = None,
        password_cache: VerifiedPasswordCache | None = None,
        clock: Callable[[], datetime.datetime] | None = None,
        throttle: AuthFailureThrottle | None = None,
        hashing: HashingQueue | None = None,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._replay = replay
        self._box = digest_box
        self._cache = password_cache or VerifiedPasswordCache(settings.password_cache_seconds)
        self._clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._future_skew = datetime.timedelta(seconds=settings.future_skew_seconds)
        self._max_age = datetime.timedelta(seconds=settings.max_age_seconds)
        self._dummy_secret: tuple[str, bytes] | None = None
        self._throttle = throttle
        self._hashing = hashing

    async def verify(self, token: etree._Element, transport: TransportInfo) -> Principal:
        """Authenticate the token, or raise a WS-Security ServiceFault."""
        grouped = _by_tag(token)
        username_el = _one(grouped, USERNAME, required=True)
        password_el = _one(grouped, PASSWORD, required=True)
        nonce_el = _one(grouped, NONCE, required=False)
        created_el = _one(grouped, CREATED, required=False)
        assert username_el is not None and password_el is not None
        username = text_of(username_el)
        password_type = password_el.get("Type")
        if password_type is None:
            raise errors.invalid_security("Password has no Type (BSP R4201)", why="malformed_token")
        if password_type not in (PASSWORD_TEXT, PASSWORD_DIGEST):
            raise errors.unsupported_token("unknown Password Type", why="malformed_token")
        nonce = self._nonce(nonce_el)
        created_text = self._created(created_el)
        is_digest = password_type == PASSWORD_DIGEST
        if is_digest and (nonce is None or created_text is None):
            raise errors.invalid_token(
                "PasswordDigest without Nonce and Created", why="malformed_token")
        if not is_digest and not (transport.is_tls or transport.is_loopback_listener):
            raise errors.invalid_security(
                "PasswordText over a cleartext, non-loopback listener", why="cleartext_password")

        # Password text is kept verbatim: whitespace may be part of a password.
        password = password_el.text or ""
        account = await self._accounts.get(username)
        method = "password-digest" if is_digest else "password-text"
        # A password verified recently passes without the failure throttle or the hashing
        # queue: a legitimate caller is not slowed down while its account is under attack.
        if is_digest or not self._cached(account, username, password):
            if self._throttle is not None:
                self._throttle.check(transport.peer_ip, username)
            if is_digest:
                assert nonce is not None and created_text is not None
                ok = self._check_digest(account, nonce, created_text, password)
            else:
                ok = await self._check_text(account, username, password)
            if not ok or account is None:
                if self._throttle is not None:
                    self._throttle.failed(transport.peer_ip, username)
                raise errors.failed_authentication(
                    f"{method} rejected for user {username[:64]!r}"
                , why="bad_credentials")
        assert account is not None
        if nonce is not None:
            await self._replay.first_use("ut", username, nonce)
        return Principal(account.name, account.role, method)

    def _nonce(self, nonce_el: etree._Element | None) -> bytes | None:
        if nonce_el is None:
            return None
        if nonce_el.get("EncodingType") != BASE64_BINARY:
            raise errors.invalid_token(
                "Nonce EncodingType is not Base64Binary (BSP R4220)", why="malformed_token")
        try:
            nonce = base64.b64decode(text_of(nonce_el), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise errors.invalid_token("Nonce is not valid base64", why="malformed_token") from exc
        if not nonce or len(nonce) > self._settings.max_nonce_bytes:
            raise errors.invalid_token(f"Nonce of {len(nonce)} bytes", why="malformed_token")
        return nonce

    def _created(self, created_el: etree._Element | None) -> str | None:
        """The Created text exactly as sent (the digest covers it), after a freshness check."""
        if created_el is None:
            return None
        created_text = text_of(created_el)
        created = parse_datetime(created_text)
        if created is None:
            raise errors.invalid_token(
                "Created is not an xsd:dateTime with a timezone", why="malformed_token")
        now = self._clock()
        if created > now + self._future_skew:
            raise errors.message_expired("UsernameToken Created is in the future", why="timing")
        if created < now - self._max_age:
            raise errors.message_expired("UsernameToken Created is too old", why="timing")
        return created_text

    def _check_digest(
        self, account: Account | None, nonce: bytes, created: str, offered: str
    ) -> bool:
        """One code path for every user: an unknown user, an account without a digest secret
        and a known one with a wrong digest all open a sealed secret, compute the digest and
        compare in constant time, so the answer time tells no account names apart."""
        real = account is not None and account.digest_secret is not None
        if account is not None and account.digest_secret is not None:
            name, sealed = account.name, account.digest_secret
        else:
            name, sealed = self._dummy_sealed_secret()
        secret = self._open_secret(name, sealed)
        expected = password_digest(nonce, created, secret if secret is not None else "")
        matches = hmac.compare_digest(expected.encode("ascii"), offered.strip().encode("utf-8"))
        return matches and real and secret is not None

    def _open_secret(self, name: str, sealed: bytes) -> str | None:
        """The digest secret in clear, or None (no key file, wrong key, tampered row)."""
        if self._box is None:
            return None
        try:
            return self._box.open(name, sealed)
        except ValueError:
            return None  # wrong key file or tampered row: the log reason says "rejected"

    def _dummy_sealed_secret(self) -> tuple[str, bytes]:
        """A sealed random secret under a name no account can have, made once per verifier."""
        if self._dummy_secret is None:
            sealed = self._box.seal(_DUMMY_ACCOUNT, secrets.token_urlsafe(24)) if self._box else b""
            self._dummy_secret = (_DUMMY_ACCOUNT, sealed)
        return self._dummy_secret

    def _cached(self, account: Account | None, username: str, offered: str) -> bool:
        """True when this PasswordText verified against the account's hash recently."""
        stored = account.password_hash if account is not None else None
        # The cache is asked for unknown users too (it never holds the dummy hash): same path.
        return self._cache.hit(username, offered, stored or _dummy_hash()) and stored is not None

    async def _check_text(self, account: Account | None, username: str, offered: str) -> bool:
        """scrypt against the stored hash (or the dummy one), in the bounded hashing queue."""
        stored = account.password_hash if account is not None else None
        if self._hashing is not None:
            ok = await self._hashing.run(verify_password, offered, stored or _dummy_hash())
        else:
            ok = await verify_password_async(offered, stored or _dummy_hash())
        if ok and stored is not None:
            self._cache.remember(username, offered, stored)
            return True
        return False
