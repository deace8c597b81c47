"""Recoverable PasswordDigest secrets, encrypted at rest with AES-GCM under a key file.

PasswordDigest = Base64(SHA-1(nonce + created + password)) can only be checked by a server
that knows the plaintext password, so it cannot be stored as a one-way hash. We keep it
encrypted with a key that lives outside the database: a stolen database alone reveals no
digest password, but whoever holds both the database and the key file does. Accounts not
created with `--digest` have no recoverable secret at all.

A key file holds one or more keys, one base64 line each (blank lines and `#` comments are
ignored): the first key encrypts, every key decrypts. That is how a key is rotated without
downtime: give every machine the new key as an additional line, run `highway-server keys
rotate`, then retire the old line (README, "Rotating the account key").
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = b"\x01"
_KEY_BYTES = 32


class KeyFileError(ValueError):
    """A key file that cannot be used: the message names the file and the reason."""


def default_key_path(db_path: str) -> str:
    """Where the key lives when not configured: next to the database, never inside it."""
    return db_path + ".accounts-key"


def key_file_for(db: str, configured: str | None) -> str | None:
    """The one rule for the account key file of a store: the configured file if any, else
    `<file>.accounts-key` beside a SQLite database; None for PostgreSQL without one (a store
    shared by several machines has no file to sit beside: the key must be configured)."""
    if configured:
        return configured
    from soap_service.store.database import parse_db_url

    target = parse_db_url(db)
    return default_key_path(target.location) if target.is_sqlite else None


def new_key_line() -> bytes:
    """One new random key as a key-file line (base64 and a newline)."""
    return base64.b64encode(secrets.token_bytes(_KEY_BYTES)) + b"\n"


def create_key_file(path: str) -> None:
    """Write a new random key, readable by the owner only; refuses to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(new_key_line())


def read_keys(path: str) -> list[bytes]:
    """Every key in a key file, first (the encrypting one) first; KeyFileError if the file
    holds no key or a line that is not a base64 32-byte key (OSError if unreadable)."""
    with open(path, "rb") as handle:
        lines = handle.read().splitlines()
    keys = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        try:
            key = base64.b64decode(line, validate=True)
        except ValueError:
            raise KeyFileError(f"{path} line {number}: not base64") from None
        if len(key) != _KEY_BYTES:
            raise KeyFileError(f"{path} line {number}: a key must be {_KEY_BYTES} bytes")
        keys.append(key)
    if not keys:
        raise KeyFileError(f"{path}: no key in the file")
    return keys


def key_id(key: bytes) -> str:
    """A short public name of a key (recorded in accounts.digest_key_id): 16 hex digits of
    SHA-256 over a label and the key; it reveals nothing about the key."""
    return hashlib.sha256(b"highway-digest-key-id\x00" + key).hexdigest()[:16]


class DigestSecretBox:
    """Encrypts and decrypts digest passwords; the account name is bound as associated data
    so a ciphertext copied onto another account row does not decrypt. The first key seals;
    every key (the current one plus previous ones during a rotation) opens."""

    def __init__(self, key: bytes, *previous: bytes) -> None:
        keys = [key, *previous]
        if any(len(k) != _KEY_BYTES for k in keys):
            raise ValueError("account key must be 32 bytes")
        self._raw = tuple(keys)
        self._keys = [(key_id(k), AESGCM(k)) for k in keys]

    @classmethod
    def from_file(cls, path: str, *, create: bool = False) -> DigestSecretBox:
        """Load the key file (creating it first when `create` and it does not exist)."""
        if create and not os.path.exists(path):
            create_key_file(path)
        return cls(*read_keys(path))

    @classmethod
    def from_files(cls, paths: Sequence[str]) -> DigestSecretBox:
        """The keys of several files, in order: the first file's first key seals."""
        keys = [key for path in paths for key in read_keys(path)]
        if not keys:
            raise ValueError("no key files")
        return cls(*keys)

    @property
    def keys(self) -> tuple[bytes, ...]:
        """Every key, sealing key first (to build a box with more keys)."""
        return self._raw

    @property
    def key_id(self) -> str:
        """The id of the sealing key (accounts.digest_key_id of what seal() returns)."""
        return self._keys[0][0]

    @property
    def key_ids(self) -> list[str]:
        """The ids of every key this box opens with, sealing key first."""
        return [ident for ident, _ in self._keys]

    def seal(self, account: str, password: str) -> bytes:
        """Ciphertext for the account's digest password: version, nonce, AES-GCM output."""
        nonce = secrets.token_bytes(12)
        sealed = self._keys[0][1].encrypt(nonce, password.encode("utf-8"),
                                          account.encode("utf-8"))
        return _VERSION + nonce + sealed

    def open(self, account: str, blob: bytes) -> str:
        """The plaintext digest password; raises ValueError if the blob is not ours."""
        return self.open_with_id(account, blob)[0]

    def open_with_id(self, account: str, blob: bytes) -> tuple[str, str]:
        """(plaintext, id of the key that opened it); ValueError if no key opens the blob."""
        if len(blob) < 1 + 12 + 16 or blob[:1] != _VERSION:
            raise ValueError("unknown digest secret format")
        found: tuple[str, str] | None = None
        # Every key is tried, whichever opens it: the work does not depend on the key (or on
        # whether the account is real: unknown users open a dummy sealed with the first key).
        for ident, aead in self._keys:
            try:
                plain = aead.decrypt(blob[1:13], blob[13:], account.encode("utf-8"))
            except InvalidTag:  # another key's secret, or a tampered row
                continue
            if found is None:
                found = (plain.decode("utf-8"), ident)
        if found is None:
            raise ValueError("digest secret does not decrypt with this key")
        return found
