"""Password hashing with scrypt, and a short-lived memory of verified PasswordText logins."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

# n=2**15, r=8: 32 MiB and tens of milliseconds per check on one core; slow enough to make
# offline guessing expensive, fast enough for an interactive login. Stored with each hash so
# the cost can be raised later without invalidating existing accounts.
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_MAXMEM = 64 * 1024 * 1024
_SCHEME = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """A self-describing scrypt hash: `scrypt$n$r$p$salt$key` (salt and key base64)."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM)
    return "$".join((_SCHEME, str(n), str(r), str(p), _b64(salt), _b64(key)))


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash; constant-time comparison, never raises."""
    try:
        scheme, n, r, p, salt_b64, key_b64 = stored.split("$")
        if scheme != _SCHEME:
            return False
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(key_b64, validate=True)
        key = hashlib.scrypt(
            password.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p),
            maxmem=_MAXMEM, dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)


async def verify_password_async(password: str, stored: str) -> bool:
    """verify_password in a worker thread: scrypt must not block the reactor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, verify_password, password, stored)


class VerifiedPasswordCache:
    """Remembers successful PasswordText checks for a short time, bounded in size.

    Keys are HMAC-SHA256(process secret, username + password): the plaintext is never kept,
    and a memory dump yields nothing usable offline without the per-process secret. Each entry
    also records the stored hash it was checked against, so changing or removing an account
    takes effect at once. Only successes are cached: a wrong password always pays scrypt.
    """

    def __init__(
        self, ttl_seconds: float, max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._clock = clock
        self._secret = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[float, str]] = OrderedDict()

    def _key(self, username: str, password: str) -> bytes:
        # Length-prefix the username so ("ab", "c") and ("a", "bc") never collide.
        material = f"{len(username)}:{username}:{password}".encode()
        return hmac.new(self._secret, material, hashlib.sha256).digest()

    def hit(self, username: str, password: str, stored_hash: str) -> bool:
        """True when this exact (username, password) verified against `stored_hash` recently."""
        if self._ttl <= 0:
            return False
        key = self._key(username, password)
        entry = self._entries.get(key)
        if entry is None:
            return False
        expires, cached_hash = entry
        if expires <= self._clock() or not hmac.compare_digest(cached_hash, stored_hash):
            del self._entries[key]
            return False
        return True

    def remember(self, username: str, password: str, stored_hash: str) -> None:
        """Record a successful verification."""
        if self._ttl <= 0:
            return
        key = self._key(username, password)
        self._entries[key] = (self._clock() + self._ttl, stored_hash)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
