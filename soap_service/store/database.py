"""Opening the SQLite database: WAL mode, durable commits, and migrations on start."""

from __future__ import annotations

import logging
import sqlite3
import time

from soap_service.store.migrations import MIGRATIONS

log = logging.getLogger("highway.store")


def connect(path: str) -> sqlite3.Connection:
    """Open (creating if needed) the database and bring its schema up to date."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged batch survives a power cut too, not only a process crash.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    migrate(conn)
    return conn


def current_version(conn: sqlite3.Connection) -> int:
    """The highest migration applied to this database (0 for a new one)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every pending migration, each in its own transaction; returns the new version."""
    # BEGIN IMMEDIATE serialises concurrent starters (several workers) on one database.
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        for number, description, script in MIGRATIONS:
            if number <= version:
                continue
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (number, description, time.time()),
            )
            log.info("applied migration %d: %s", number, description)
            version = number
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit implicitly)."""
    parts, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            parts.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        parts.append(buffer.strip())
    return [p for p in parts if p]
