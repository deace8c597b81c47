"""The asynchronous database engines behind the store: no database call runs on the reactor.

SQLite runs on its own threads: one writer thread with its connection (SQLite has a single
writer anyway) and reader threads with their own WAL connections, so a batch being written
never blocks a read. PostgreSQL runs on the reactor's asyncio loop through psycopg 3's async
connection pool. Both give the same small interface (fetchall, fetchone, transaction, ping)
over the same SQL (`?` placeholders), and both bound every call: a lock wait, a full queue or a
database that does not answer ends in StoreUnavailable within `timeout_s`, never a hang.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from soap_service.compat.sqlite_wal import WalIndexWatch
from soap_service.store.database import DbTarget, parse_db_url, pg_sql, sqlite_pragmas
from soap_service.store.errors import (
    StoreIntegrityError,
    StoreUnavailable,
    sqlite_reason,
    sqlite_unavailable,
)
from soap_service.store.health import StoreHealth
from soap_service.store.job_threads import JobsClosed, JobThreads

log = logging.getLogger("highway.store")
T = TypeVar("T")

# One step of a write transaction: SQL, its parameters, and whether they are many rows.
Step = tuple[str, Sequence[Any], bool]


class Engine(Protocol):
    """What the store needs from a database engine."""

    kind: str
    health: StoreHealth

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a read query."""
        ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a read query, or None."""
        ...

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        """Run the steps in one transaction; the rows each changed. All or nothing."""
        ...

    def change_token(self) -> bytes | None:
        """Without a database call: a value that stays equal while nothing is committed to
        the database by any connection of any process, or None when the engine cannot tell
        (then only a read says)."""
        ...

    async def ping(self, *, write: bool = False) -> None:
        """Raise StoreUnavailable unless the database answers (and, with write, commits)."""
        ...

    async def close(self) -> None:
        """Release connections and threads."""
        ...


# A no-op write that still commits a page: proves the disk and the file accept writes.
WRITE_PROBE = "UPDATE data_version SET version = version WHERE id = 1"


class SqliteEngine:
    """SQLite on its own threads: one writer connection, reader connections on other threads."""

    kind = "sqlite"

    def __init__(self, path: str, *, timeout_s: float = 3.0, readers: int = 2,
                 health: StoreHealth | None = None) -> None:
        self._path = path
        self._timeout = timeout_s
        self.health = health or StoreHealth()
        self._writer = JobThreads(1, "sqlite-writer")
        self._readers = JobThreads(readers, "sqlite-reader")
        self._local = threading.local()
        # The wal-index header, mapped after the first read (compat/sqlite_wal.py); tried once.
        self._watch: WalIndexWatch | None = None
        self._watch_tried = False
        self._closed = False

    def _connection(self, write: bool) -> sqlite3.Connection:
        """This thread's connection, opened on first use (each thread owns one)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            try:
                sqlite_pragmas(conn, int(self._timeout * 1000))
                if not write:
                    conn.execute("PRAGMA query_only=ON")  # a reader can never take the write lock
            except BaseException:
                conn.close()
                raise
            self._local.conn = conn
        return conn

    async def _submit(
        self, write: bool, job: Callable[[sqlite3.Connection], T], probe: bool = False
    ) -> T:
        deadline = time.monotonic() + self._timeout

        def run() -> T:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Waited in the queue past the bound: the caller has been answered already.
                raise StoreUnavailable("database busy", write=write)
            try:
                conn = self._connection(write)
                # Lock waits get what is left of this call's bound (SQLite sleeps on its own),
                # in whole 100 ms rounded down: the pragma is re-issued only when that changes.
                bound = max(1, int(remaining * 10) * 100)
                if bound != getattr(self._local, "busy_timeout", None):
                    conn.execute(f"PRAGMA busy_timeout={bound}")
                    self._local.busy_timeout = bound
                result = job(conn)
                if not self._watch_tried and not write:
                    self._open_watch(conn)
                return result
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.IntegrityError):
                    raise StoreIntegrityError(str(exc)) from exc
                if sqlite_unavailable(exc):
                    raise StoreUnavailable(sqlite_reason(exc), write=write) from exc
                raise

        threads = self._writer if write else self._readers
        try:
            # A little slack over the thread's own bound so its precise error usually wins.
            result = await threads.run(run, self._timeout + 0.5)
        except JobsClosed as exc:  # shut down (process stopping)
            raise StoreUnavailable("store closed", write=write) from exc
        except StoreUnavailable as exc:
            self.health.failed(exc)
            raise
        except TimeoutError:
            timeout = StoreUnavailable("database timeout", write=write)
            self.health.failed(timeout)
            raise timeout from None
        self.health.succeeded(write, probe=probe)
        return result

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a read query, on a reader thread."""
        return await self._submit(False, lambda c: c.execute(sql, tuple(params)).fetchall())

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a read query, on a reader thread."""
        return await self._submit(False, lambda c: c.execute(sql, tuple(params)).fetchone())

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        """BEGIN IMMEDIATE, the steps, COMMIT, on the writer thread; rolled back on any error."""
        return await self._submit(True, _transaction_job(steps))

    def _open_watch(self, conn: sqlite3.Connection) -> None:
        """Map the wal-index header through a reader connection that has read (its threads
        keep their connections open until close, so the header stays mapped)."""
        self._watch_tried = True
        watch = WalIndexWatch.open(conn, self._path)
        if watch is not None and self._closed:
            watch.close()
            return
        self._watch = watch
        log.debug("sqlite change token %s", "in use" if watch else "not available")

    def change_token(self) -> bytes | None:
        """The wal-index header (both copies), or None before the first read, after close,
        or when this database's header cannot be read (compat/sqlite_wal.py)."""
        watch = self._watch
        return watch.token() if watch is not None and not self._closed else None

    async def ping(self, *, write: bool = False) -> None:
        """A trivial read (and with write, a committed no-op update)."""
        if write:
            await self._submit(True, _transaction_job([(WRITE_PROBE, (), False)]), probe=True)
        else:
            await self.fetchone("SELECT version FROM data_version WHERE id = 1")

    async def close(self) -> None:
        """Stop the threads (connections close with them) and unmap the wal-index header."""
        self._closed = True
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        self._writer.shutdown()
        self._readers.shutdown()


def _transaction_job(steps: Sequence[Step]) -> Callable[[sqlite3.Connection], list[int]]:
    """BEGIN IMMEDIATE, the steps, COMMIT; rolled back (quietly) on any error."""

    def job(conn: sqlite3.Connection) -> list[int]:
        counts: list[int] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params, many in steps:
                before = conn.total_changes
                if many:
                    conn.executemany(sql, params)
                else:
                    conn.execute(sql, tuple(params))
                counts.append(conn.total_changes - before)
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise
        return counts

    return job


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    """Roll back after an error without letting a failing ROLLBACK replace that error."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error as rollback_error:
        log.debug("rollback after a failed transaction also failed: %s", rollback_error)


class PostgresEngine:
    """PostgreSQL through psycopg 3's async pool, on the reactor's asyncio event loop."""

    kind = "postgresql"

    def __init__(self, url: str, *, timeout_s: float = 3.0, max_size: int = 8,
                 health: StoreHealth | None = None) -> None:
        from psycopg_pool import AsyncConnectionPool

        self._timeout = timeout_s
        self.health = health or StoreHealth()
        ms = max(1, int(timeout_s * 1000))
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=timeout_s,
            # Waiting for a row lock or a statement longer than the bound ends the call.
            kwargs={
                "autocommit": True,
                "connect_timeout": max(1, int(timeout_s)),
                "options": f"-c lock_timeout={ms} -c statement_timeout={ms * 2}",
            },
            # Keep trying to reconnect however long PostgreSQL is away (recovery by itself).
            reconnect_timeout=365 * 24 * 3600.0,
            name="highway",
        )
        self._opened = False

    def change_token(self) -> bytes | None:
        """None: a PostgreSQL read is a query on this loop (no thread hop to save), and other
        machines' commits are only seen by reading."""
        return None

    async def _open(self) -> None:
        if not self._opened:
            self._opened = True
            await self._pool.open(wait=False)  # connections are made in the background

    async def _run(self, write: bool, job: Callable[[Any], Any]) -> Any:
        import psycopg

        await self._open()
        deadline = time.monotonic() + self._timeout
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(max(0.01, deadline - time.monotonic())):
                    async with self._pool.connection() as conn:
                        result = await job(conn)
                self.health.succeeded(write)
                return result
            except psycopg.IntegrityError as exc:
                raise StoreIntegrityError(str(exc)) from exc
            except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction,
                    psycopg.InterfaceError, TimeoutError, OSError) as exc:
                # A connection broken by a PostgreSQL restart fails once; our writes are
                # idempotent, so one more try on a fresh connection is safe.
                if attempt == 1 and _is_connection_loss(exc) and time.monotonic() < deadline:
                    continue
                failure = StoreUnavailable(_pg_reason(exc), write=write)
                self.health.failed(failure)
                raise failure from exc

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """All rows of a read query."""

        async def job(conn: Any) -> list[tuple[Any, ...]]:
            cursor = await conn.execute(pg_sql(sql), tuple(params) or None)
            return list(await cursor.fetchall())

        result: list[tuple[Any, ...]] = await self._run(False, job)
        return result

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a read query, or None."""

        async def job(conn: Any) -> tuple[Any, ...] | None:
            cursor = await conn.execute(pg_sql(sql), tuple(params) or None)
            row = await cursor.fetchone()
            return tuple(row) if row is not None else None

        result: tuple[Any, ...] | None = await self._run(False, job)
        return result

    async def transaction(self, steps: Sequence[Step]) -> list[int]:
        """The steps in one transaction (psycopg rolls back on any error inside it)."""

        async def job(conn: Any) -> list[int]:
            counts: list[int] = []
            async with conn.transaction():
                cursor = conn.cursor()
                for sql, params, many in steps:
                    if many:
                        await cursor.executemany(pg_sql(sql), params)
                    else:
                        await cursor.execute(pg_sql(sql), tuple(params) or None)
                    counts.append(max(0, cursor.rowcount))
            return counts

        result: list[int] = await self._run(True, job)
        return result

    async def vacuum(self, table: str) -> None:
        """VACUUM one table now (it cannot run inside a transaction), so the space of rows
        just deleted is reused at once instead of when autovacuum gets to it."""
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")

        await self._open()
        # Not through _run: maintenance may take longer than --db-timeout, and its failure
        # says nothing about whether requests can be served (the health stays untouched).
        async with self._pool.connection() as conn:
            await conn.set_autocommit(True)
            try:
                await conn.execute(f"VACUUM {table}")
            finally:
                await conn.set_autocommit(False)

    async def ping(self, *, write: bool = False) -> None:
        """A trivial query (PostgreSQL reports a full disk on real writes)."""
        await self.fetchone("SELECT 1")

    async def close(self) -> None:
        """Close the pool."""
        if self._opened:
            await self._pool.close(timeout=1.0)


def _is_connection_loss(exc: BaseException) -> bool:
    import psycopg

    if isinstance(exc, psycopg.OperationalError):
        sqlstate = getattr(exc, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith(("08", "57P"))  # connection, shutdown
    return False


def _pg_reason(exc: BaseException) -> str:
    import psycopg
    from psycopg_pool import PoolTimeout

    if isinstance(exc, PoolTimeout):
        return "database unreachable"
    if isinstance(exc, TimeoutError):
        return "database timeout"
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return "database locked"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return "database timeout"
    if isinstance(exc, psycopg.errors.DiskFull):
        return "disk full"
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return "database read-only"
    return "database unreachable"


def open_engine(url: str | DbTarget, *, timeout_s: float = 3.0) -> Engine:
    """The engine for a --db URL (nothing is connected until the first call)."""
    target = parse_db_url(url) if isinstance(url, str) else url
    if target.is_sqlite:
        return SqliteEngine(target.location, timeout_s=timeout_s)
    return PostgresEngine(target.location, timeout_s=timeout_s)
