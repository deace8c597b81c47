"""`highway-server db migrate|check|backup|copy`: the database's schema, health, backups and
moving an installation from SQLite to PostgreSQL. Each takes --db and --config like `serve`."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from typing import Any

from soap_service.settings_loader import ConfigError, iter_settings, load_settings
from soap_service.store import database

# Tables copied by `db copy`, parents first (foreign keys), with their columns.
COPIED_TABLES: tuple[tuple[str, str], ...] = (
    ("highways", "id, name, retired"),
    ("segments", "id, highway_id, direction, position, from_name, to_name, length_km,"
                 " free_flow_kph, retired"),
    ("observations", "sensor_id, observed_at_ms, segment_id, speed_kph, received_at_ms"),
    ("accounts", "name, role, password_hash, digest_secret, cert_subject, created_at,"
                 " digest_key_id"),
)
_CHUNK = 5000


def _add_db_options(parser: argparse.ArgumentParser) -> None:
    """--db and --config, read with the same precedence as `serve` (flag > env > file)."""
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    dest = next(ref.dest for ref in iter_settings() if ref.key == "core.db")
    parser.add_argument("--db", dest=dest, default=None,
                        help="database URL or SQLite path (default: [core] db, $HIGHWAY_DB, "
                             "./highway.db)")


def add_db_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the `db` command with its actions to highway-server's subparsers."""
    db = subparsers.add_parser("db", help="database schema, checks, backup and copy")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    migrate = actions.add_parser("migrate", help="apply pending schema migrations")
    _add_db_options(migrate)
    migrate.set_defaults(handler=_migrate)
    check = actions.add_parser("check", help="report schema version, pending migrations, "
                               "integrity and row counts (exit 1 if not current)")
    _add_db_options(check)
    check.set_defaults(handler=_check)
    backup = actions.add_parser("backup", help="online backup of a SQLite database to FILE "
                                "(PostgreSQL: use pg_dump)")
    backup.add_argument("file")
    _add_db_options(backup)
    backup.set_defaults(handler=_backup)
    copy = actions.add_parser("copy", help="copy every row (network, observations, accounts) "
                              "into an empty database, atomically, then verify the counts")
    copy.add_argument("--from", dest="source", required=True, metavar="URL")
    copy.add_argument("--to", dest="destination", required=True, metavar="URL")
    copy.set_defaults(handler=_copy)
    return db


def _db_url(args: argparse.Namespace) -> str:
    return load_settings(args).core.db


def _fail(what: str, exc: BaseException) -> int:
    text = str(exc).strip().splitlines()
    print(f"highway-server db {what}: {text[0] if text else type(exc).__name__}",
          file=sys.stderr)
    return 2


def _migrate(args: argparse.Namespace) -> int:
    try:
        url = _db_url(args)
        conn = database.connect(url, migrate_schema=False)
        before = database.current_version(conn)
        after = database.migrate(conn)
    except (ConfigError, ValueError, OSError, sqlite3.Error, RuntimeError) as exc:
        return _fail("migrate", exc)
    except Exception as exc:  # noqa: BLE001 - psycopg errors: one line, no traceback
        return _fail("migrate", exc)
    target = database.parse_db_url(url).display()
    print(f"{target}: schema version {before} -> {after}")
    return 0


def _counts(conn: Any) -> dict[str, int]:
    return {table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table, _ in COPIED_TABLES}


def _check(args: argparse.Namespace) -> int:
    try:
        url = _db_url(args)
        conn = database.connect(url, migrate_schema=False)
        version = database.current_version(conn)
        pending = database.pending(conn)
        integrity = "ok"
        if database.engine_of(conn) == "sqlite":
            integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
        counts = _counts(conn) if not pending else {}
    except Exception as exc:  # noqa: BLE001 - any failure: one line, exit 2
        return _fail("check", exc)
    print(f"{database.parse_db_url(url).display()}: schema version {version}, "
          f"{len(pending)} pending, integrity {integrity}")
    for table, count in counts.items():
        print(f"  {table}: {count}")
    return 0 if not pending and integrity == "ok" else 1


def _backup(args: argparse.Namespace) -> int:
    try:
        target = database.parse_db_url(_db_url(args))
        if not target.is_sqlite:
            print("highway-server db backup: for PostgreSQL use pg_dump (see README, Backups)",
                  file=sys.stderr)
            return 2
        source = sqlite3.connect(f"file:{target.location}?mode=ro", uri=True)
        destination = sqlite3.connect(args.file)
        # SQLite's online backup API: a consistent copy while the server keeps writing.
        source.backup(destination, pages=1024)
        check = destination.execute("PRAGMA quick_check").fetchone()[0]
        rows = destination.execute("SELECT COUNT(*) FROM observations").fetchone()[0]
        destination.close()
        source.close()
    except Exception as exc:  # noqa: BLE001 - one line, exit 2
        return _fail("backup", exc)
    print(f"backed up {target.display()} to {args.file}: {rows} observations, check {check}")
    return 0 if check == "ok" else 1


def copy_database(source_url: str, destination_url: str) -> dict[str, int]:
    """Copy every row from `source_url` into the empty, migrated `destination_url` in one
    destination transaction (all or nothing) from one consistent source snapshot; returns the
    counts after verifying the destination holds exactly as many rows as the snapshot."""
    source = database.connect(source_url, migrate_schema=False)
    if database.pending(source):
        raise RuntimeError("the source database needs `highway-server db migrate` first")
    destination = database.connect(destination_url)
    existing = _counts(destination)
    if any(existing.values()):
        raise RuntimeError("the destination is not empty ("
                           + ", ".join(f"{t} {n}" for t, n in existing.items() if n) + ")")
    source.execute("BEGIN")  # one snapshot for every table (SQLite: deferred read transaction)
    if database.engine_of(source) == "postgresql":
        source.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    try:
        expected = _counts(source)
        version = int(source.execute("SELECT version FROM data_version WHERE id = 1")
                      .fetchone()[0])
        network_version = int(source.execute("SELECT version FROM network_version WHERE id = 1")
                              .fetchone()[0])
        with database.transaction(destination):
            for table, columns in COPIED_TABLES:
                marks = ", ".join("?" * len(columns.split(",")))
                cursor = source.execute(f"SELECT {columns} FROM {table}")
                while rows := cursor.fetchmany(_CHUNK):
                    destination.executemany(
                        f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                        [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                         for row in rows],
                    )
            # Caches of servers already on the destination must not reuse older answers.
            destination.execute("UPDATE data_version SET version = ? WHERE id = 1",
                                (version + 1,))
            # ... nor a network they read before the copy (retired rows stay retired).
            destination.execute("UPDATE network_version SET version = ? WHERE id = 1",
                                (network_version + 1,))
            copied = _counts(destination)
            if copied != expected:
                raise RuntimeError(f"verification failed: expected {expected}, found {copied}")
    finally:
        source.execute("ROLLBACK")
    return copied


def _copy(args: argparse.Namespace) -> int:
    try:
        counts = copy_database(args.source, args.destination)
    except Exception as exc:  # noqa: BLE001 - one line, exit 2; nothing was committed
        return _fail("copy", exc)
    source = database.parse_db_url(args.source).display()
    destination = database.parse_db_url(args.destination).display()
    print(f"copied {source} -> {destination} (verified):")
    for table, count in counts.items():
        print(f"  {table}: {count}")
    return 0
