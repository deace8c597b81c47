"""Choosing and opening the database by URL (SQLite file or PostgreSQL), with migrations.

`--db PATH` and `--db sqlite:///PATH` name an embedded SQLite file (SQLAlchemy's spelling:
`sqlite:///rel.db`, `sqlite:////abs/path.db`); `--db postgresql://USER@HOST:PORT/DB` names a
PostgreSQL database shared by every machine. The connections here are synchronous and meant
for start-up and the command line (migrations, sample data, accounts); the serving path uses
the asynchronous engines in store/engines.py.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from typing import Any

from soap_service.store.errors import StoreIntegrityError
from soap_service.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS

log = logging.getLogger("highway.store")

# PostgreSQL advisory lock key serialising start-up work of several machines.
_MIGRATION_LOCK_KEY = 0x68776179  # "hway"


@dataclasses.dataclass(frozen=True)
class DbTarget:
    """A parsed --db value: which engine, and where (a file path or a libpq URL)."""

    engine: str  # "sqlite" or "postgresql"
    location: str

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded engine."""
        return self.engine == "sqlite"

    def display(self) -> str:
        """The URL without any password, for messages and logs."""
        if self.is_sqlite:
            return f"sqlite:///{self.location}"
        try:
            from psycopg.conninfo import conninfo_to_dict, make_conninfo

            params = conninfo_to_dict(self.location)
            params.pop("password", None)
            return make_conninfo(**{k: str(v) for k, v in params.items()})
        except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
            return "postgresql://(unparsable)"


def parse_db_url(value: str) -> DbTarget:
    """Turn a --db value into a DbTarget; raises ValueError for an unknown scheme."""
    if value.startswith(("postgresql://", "postgres://")):
        return DbTarget("postgresql", value)
    if value.startswith("sqlite://"):
        rest = value[len("sqlite://"):]
        if not rest.startswith("/") or rest == "/":
            raise ValueError("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path")
        return DbTarget("sqlite", rest[1:])
    if "://" in value:
        scheme = value.split("://", 1)[0]
        raise ValueError(f"unknown database scheme {scheme!r}: use a path, sqlite:/// or "
                         "postgresql://")
    return DbTarget("sqlite", value)


def sqlite_pragmas(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """WAL, durable commits, foreign keys and the lock wait bound on one SQLite connection."""
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    # Takes effect only in a file that has no table yet (a new one); must precede WAL: pages
    # freed by retention then go back to the file system (store/retention.py).
    if conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        conn.execute("PRAGMA journal_mode=WAL")
    # FULL: an acknowledged batch survives a power cut too, not only a process crash.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")


def open_sqlite(path: str, *, busy_timeout_ms: int = 3000) -> sqlite3.Connection:
    """One autocommit SQLite connection with the project's pragmas (no migration)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=busy_timeout_ms / 1000.0)
    sqlite_pragmas(conn, busy_timeout_ms)
    return conn


def connect(url: str, *, busy_timeout_ms: int = 10000, migrate_schema: bool = True) -> Any:
    """Open (creating if needed) the database named by `url` and bring its schema up to date.

    SQLite gives a sqlite3.Connection; PostgreSQL a PgSyncConnection with the same small
    interface (execute, executemany, rowcount, fetchone/fetchall, `?` placeholders).
    """
    target = parse_db_url(url)
    conn: Any
    if target.is_sqlite:
        conn = open_sqlite(target.location, busy_timeout_ms=busy_timeout_ms)
    else:
        conn = PgSyncConnection.open(target.location, connect_timeout_s=busy_timeout_ms / 1000)
    if migrate_schema:
        migrate(conn)
    return conn


def engine_of(conn: Any) -> str:
    """"sqlite" or "postgresql" for a connection made by connect()."""
    return "postgresql" if isinstance(conn, PgSyncConnection) else "sqlite"


@contextlib.contextmanager
def transaction(conn: Any, *, serialize: bool = False) -> Iterator[None]:
    """BEGIN (IMMEDIATE on SQLite: take the write lock now) ... COMMIT, else ROLLBACK.

    With `serialize`, PostgreSQL transactions also take one advisory lock, so start-up work
    done by several machines at once (migrations, sample data) runs one after the other, as
    SQLite's write lock does. A failing ROLLBACK never replaces the error that caused it.
    """
    postgres = engine_of(conn) == "postgresql"
    conn.execute("BEGIN" if postgres else "BEGIN IMMEDIATE")
    if postgres and serialize:
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK_KEY,))
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        try:
            conn.execute("ROLLBACK")
        except Exception as rollback_error:  # noqa: BLE001 - keep the first error
            log.debug("rollback after a failed transaction also failed: %s", rollback_error)
        raise


def _ensure_version_table(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at DOUBLE PRECISION"
        " NOT NULL)"
    )


def current_version(conn: Any) -> int:
    """The highest migration applied to this database (0 for a new one)."""
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except (sqlite3.OperationalError, PgUndefinedTable):
        return 0
    return int(row[0] or 0)


def migrations_for(conn: Any) -> list[tuple[int, str, str]]:
    """The migration list of this connection's engine."""
    return POSTGRES_MIGRATIONS if engine_of(conn) == "postgresql" else MIGRATIONS


def pending(conn: Any) -> list[tuple[int, str]]:
    """Migrations not yet applied: (version, description)."""
    version = current_version(conn)
    return [(n, d) for n, d, _ in migrations_for(conn) if n > version]


def migrate(conn: Any) -> int:
    """Apply every pending migration in one transaction; returns the new version.

    Nothing is written (no write lock taken) when the schema is current, so a read-only
    database still opens for reading.
    """
    steps = migrations_for(conn)
    if not pending(conn):
        return steps[-1][0]
    # Several machines starting at once: one migrates, the others wait, then see it done.
    with transaction(conn, serialize=True):
        _ensure_version_table(conn)
        version = current_version(conn)
        for number, description, script in steps:
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


def pg_sql(sql: str) -> str:
    """Our SQL uses `?` placeholders (SQLite's); psycopg wants `%s` (no `%` literals in ours)."""
    return sql.replace("?", "%s")


class PgUndefinedTable(Exception):
    """Raised by PgSyncConnection for a missing table (mirrors sqlite's 'no such table')."""


class PgSyncConnection:
    """A synchronous autocommit psycopg connection behaving like our use of sqlite3's."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @classmethod
    def open(cls, url: str, *, connect_timeout_s: float = 10.0) -> PgSyncConnection:
        """Connect (autocommit: BEGIN/COMMIT are explicit, as with SQLite here)."""
        import psycopg

        conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(connect_timeout_s)))
        return cls(conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns the cursor (fetchone, fetchall, rowcount)."""
        import psycopg

        try:
            return self._conn.execute(pg_sql(sql), tuple(params) or None)
        except psycopg.errors.UndefinedTable as exc:
            raise PgUndefinedTable(str(exc)) from exc
        except psycopg.IntegrityError as exc:
            raise StoreIntegrityError(str(exc)) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> Any:
        """Run one statement per row (pipelined by psycopg)."""
        import psycopg

        cursor = self._conn.cursor()
        try:
            cursor.executemany(pg_sql(sql), rows)
        except psycopg.IntegrityError as exc:
            raise StoreIntegrityError(str(exc)) from exc
        return cursor

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()
