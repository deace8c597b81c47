"""The accounts table: principals, roles, password hashes, digest secrets, certificate subjects."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import time
from typing import Any, Protocol

from cryptography import x509

from soap_service.core.principal import ROLES
from soap_service.security.digest_secrets import DigestSecretBox
from soap_service.security.passwords import hash_password

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class AccountError(ValueError):
    """An account cannot be added or changed as asked; the message says why."""


@dataclasses.dataclass(frozen=True)
class Account:
    """One principal as stored; `digest_secret` is ciphertext, never the password."""

    name: str
    role: str
    password_hash: str | None
    digest_secret: bytes | None
    cert_subject: str | None

    @property
    def digest_enabled(self) -> bool:
        """True when the account may authenticate with PasswordDigest."""
        return self.digest_secret is not None

    def __repr__(self) -> str:
        return (
            f"Account(name={self.name!r}, role={self.role!r}, "
            f"password={'set' if self.password_hash else 'none'}, "
            f"digest={self.digest_enabled}, cert_subject={self.cert_subject!r})"
        )


def normalize_subject(text: str) -> str:
    """A DN in the form cryptography's Name.rfc4514_string() prints (`CN=a,O=B`)."""
    # People type "CN=a, O=B"; RFC 4514 has no space after the separator. Escaped commas
    # (`\,`) stay untouched.
    compact = re.sub(r"(?<!\\),\s+", ",", text.strip())
    try:
        return x509.Name.from_rfc4514_string(compact).rfc4514_string()
    except ValueError as exc:
        raise AccountError(f"not an RFC 4514 distinguished name: {exc}") from exc


def subject_of(certificate: x509.Certificate) -> str:
    """The certificate's subject in the same form as stored cert subjects."""
    return certificate.subject.rfc4514_string()


_COLUMNS = "name, role, password_hash, digest_secret, cert_subject"


def _row(row: tuple[str, str, str | None, bytes | None, str | None]) -> Account:
    return Account(row[0], row[1], row[2], row[3], row[4])


class AccountLookup(Protocol):
    """How the serving path finds accounts: coroutines (security/account_directory.py)."""

    async def get(self, name: str) -> Account | None:
        """The account with this name, or None."""
        ...

    async def by_cert_subject(self, subject: str) -> Account | None:
        """The account mapped to this certificate subject DN, or None."""
        ...


class AccountStore:
    """Reads and writes accounts through a migrated connection from store.database.connect()
    (SQLite or PostgreSQL, autocommit mode); for the command line and start-up."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def add(
        self,
        name: str,
        role: str,
        *,
        password: str | None = None,
        digest_box: DigestSecretBox | None = None,
        cert_subject: str | None = None,
    ) -> Account:
        """Create an account. With `digest_box`, the password is also kept recoverable
        (encrypted) so PasswordDigest can be checked. Raises AccountError."""
        if not _NAME.match(name):
            raise AccountError("account names are 1-64 letters, digits, '.', '_', '@' or '-'")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if password is None and cert_subject is None:
            raise AccountError("an account needs a password, a certificate subject, or both")
        if digest_box is not None and password is None:
            raise AccountError("a digest account needs a password")
        subject = normalize_subject(cert_subject) if cert_subject is not None else None
        account = Account(
            name,
            role,
            hash_password(password) if password is not None else None,
            digest_box.seal(name, password) if digest_box is not None and password else None,
            subject,
        )
        try:
            self._conn.execute(
                f"INSERT INTO accounts ({_COLUMNS}, created_at, digest_key_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*dataclasses.astuple(account), time.time(),
                 digest_box.key_id if account.digest_secret is not None and digest_box else None),
            )
        except sqlite3.IntegrityError as exc:
            if self.get(name) is not None:
                raise AccountError(f"account {name!r} already exists") from exc
            raise AccountError("that certificate subject already belongs to an account") from exc
        return account

    def set_password(
        self, name: str, password: str, *, digest_box: DigestSecretBox | None = None
    ) -> Account:
        """Replace the password (and, with `digest_box`, the digest secret; without it an
        existing digest secret is dropped: it would still hold the old password). Raises
        AccountError for an unknown account. Running servers read accounts per request, so
        the change applies to the next request."""
        if self.get(name) is None:
            raise AccountError(f"no account {name!r}")
        secret = digest_box.seal(name, password) if digest_box is not None else None
        self._conn.execute(
            "UPDATE accounts SET password_hash = ?, digest_secret = ?, digest_key_id = ?"
            " WHERE name = ?",
            (hash_password(password), secret,
             digest_box.key_id if digest_box is not None else None, name),
        )
        account = self.get(name)
        assert account is not None
        return account

    def set_role(self, name: str, role: str) -> Account:
        """Change an account's role; raises AccountError for an unknown account or role."""
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        cursor = self._conn.execute("UPDATE accounts SET role = ? WHERE name = ?", (role, name))
        if cursor.rowcount == 0:
            raise AccountError(f"no account {name!r}")
        account = self.get(name)
        assert account is not None
        return account

    def remove(self, name: str) -> bool:
        """Delete an account; True if it existed."""
        cursor = self._conn.execute("DELETE FROM accounts WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def get(self, name: str) -> Account | None:
        """The account with this name, or None."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE name = ?", (name,)
        ).fetchone()
        return _row(row) if row else None

    def created_at(self, name: str) -> float | None:
        """When the account was created (Unix time), or None for an unknown account."""
        row = self._conn.execute(
            "SELECT created_at FROM accounts WHERE name = ?", (name,)
        ).fetchone()
        return float(row[0]) if row else None

    def by_cert_subject(self, subject: str) -> Account | None:
        """The account mapped to this certificate subject DN, or None."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM accounts WHERE cert_subject = ?", (subject,)
        ).fetchone()
        return _row(row) if row else None

    def all(self) -> list[Account]:
        """Every account, by name."""
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY name").fetchall()
        return [_row(r) for r in rows]
