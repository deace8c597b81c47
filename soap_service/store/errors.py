"""Store failures answered with Server.Unavailable, and how engine errors map onto them."""

from __future__ import annotations

import sqlite3

from soap_service import faults
from soap_service.core.errors import DependencyUnavailable
from soap_service.faults import ServiceFault

# How long a client is told to wait before retrying a request the database could not serve.

# SQLite result codes (sqlite3 exceptions' sqlite_errorname) that mean "the database cannot
# do this now" (locked, full, read-only, unopenable, I/O, damaged), as opposed to a bug in
# our SQL (syntax, missing table) that must stay a loud Server fault.
_SQLITE_UNAVAILABLE_PREFIXES = (
    "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN",
    "SQLITE_IOERR", "SQLITE_CORRUPT", "SQLITE_NOTADB", "SQLITE_PERM", "SQLITE_PROTOCOL",
    "SQLITE_NOLFS", "SQLITE_AUTH",
)


class StoreUnavailable(DependencyUnavailable):
    """The database cannot serve this call now (locked past the bound, down, full, read-only).

    `reason` is a short, log-safe word for /readyz and the access log; `write` tells whether a
    write failed (reads may still work, e.g. on a full disk).
    """

    def __init__(self, reason: str, *, write: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.write = write

    def as_fault(self) -> ServiceFault:
        """503 Server.Unavailable with Retry-After."""
        return unavailable_fault(self)


class StoreIntegrityError(sqlite3.IntegrityError):
    """A unique or check constraint refused a row, whichever engine said so.

    Subclasses sqlite3.IntegrityError so code written against SQLite (accounts.py) catches the
    PostgreSQL case with the same `except`.
    """


def sqlite_unavailable(exc: sqlite3.Error) -> bool:
    """True when a SQLite error means the database is unusable now, not that our SQL is wrong."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(_SQLITE_UNAVAILABLE_PREFIXES):
        return True
    text = str(exc).lower()
    return any(word in text for word in (
        "locked", "disk is full", "readonly", "read-only", "unable to open", "disk i/o",
        "not a database", "malformed",
    ))


def sqlite_reason(exc: sqlite3.Error) -> str:
    """A short reason for a SQLite failure (no paths, no data)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return "database locked"
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return "disk full"
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return "database read-only"
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in text:
        return "database cannot be opened"
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return "database damaged"
    return "database I/O error"


def unavailable_fault(exc: StoreUnavailable) -> ServiceFault:
    """The SOAP answer for a store that cannot serve: 503 Server.Unavailable with Retry-After."""
    return ServiceFault(
        faults.SERVER_UNAVAILABLE,
        "The database is unavailable; retry after the number of seconds in Retry-After.",
        reason=f"store: {exc.reason}",
    )
