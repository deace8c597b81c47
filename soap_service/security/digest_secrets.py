"""Recoverable PasswordDigest secrets, encrypted at rest with AES-GCM under a key file.

PasswordDigest = Base64(SHA-1(nonce + created + password)) can only be checked by a server
that knows the plaintext password, so it cannot be stored as a one-way hash. We keep it
encrypted with a key that lives outside the database: a stolen database alone reveals no
digest password, but whoever holds both the database and the key file does. Accounts not
created with `--digest` have no recoverable secret at all.
"""

from __future__ import annotations

import base64
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_KEY_BYTES = 32


def default_key_path(db_path: str) -> str:
    """Where the key lives when not configured: next to the database, never inside it."""
    return db_path + ".accounts-key"


def create_key_file(path: str) -> None:
    """Write a new random key, readable by the owner only; refuses to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(base64.b64encode(secrets.token_bytes(_KEY_BYTES)) + b"\n")


class DigestSecretBox:
    """Encrypts and decrypts digest passwords; the account name is bound as associated data
    so a ciphertext copied onto another account row does not decrypt."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise ValueError("account key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: str, *, create: bool = False) -> DigestSecretBox:
        """Load the key file (creating it first when `create` and it does not exist)."""
        if create and not os.path.exists(path):
            create_key_file(path)
        with open(path, "rb") as handle:
            key = base64.b64decode(handle.read().strip(), validate=True)
        return cls(key)

    def seal(self, account: str, password: str) -> bytes:
        """Ciphertext for the account's digest password: version, nonce, AES-GCM output."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, password.encode("utf-8"), account.encode("utf-8"))
        return _VERSION + nonce + sealed

    def open(self, account: str, blob: bytes) -> str:
        """The plaintext digest password; raises ValueError if the blob is not ours."""
        if len(blob) < 1 + 12 + 16 or blob[:1] != _VERSION:
            raise ValueError("unknown digest secret format")
        try:
            plain = self._aead.decrypt(blob[1:13], blob[13:], account.encode("utf-8"))
        except Exception as exc:  # InvalidTag: wrong key or tampered row
            raise ValueError("digest secret does not decrypt with this key") from exc
        return plain.decode("utf-8")
