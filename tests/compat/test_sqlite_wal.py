"""compat/sqlite_wal.py against the SQLite this Python links: the wal-index header changes with
every commit (from this process or another), stays equal across reads, and anything that is
not the known format gives no token (the store then reads the database)."""

from __future__ import annotations

import mmap
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

from soap_service.compat.sqlite_wal import WAL_INDEX_VERSION, WalIndexWatch


def _database(path: Path) -> sqlite3.Connection:
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (x INTEGER)")
    return writer


def _watch(path: Path) -> tuple[sqlite3.Connection, WalIndexWatch]:
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("SELECT COUNT(*) FROM t").fetchone()
    watch = WalIndexWatch.open(reader, str(path))
    assert watch is not None
    return reader, watch


def test_the_token_changes_with_each_commit_and_only_then(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    writer = _database(path)
    reader, watch = _watch(path)
    before = watch.token()
    assert before is not None and len(before) == 96
    for _ in range(3):
        reader.execute("SELECT COUNT(*) FROM t").fetchone()
        assert watch.token() == before  # reads commit nothing
    seen = {before}
    for value in range(5):
        writer.execute("INSERT INTO t VALUES (?)", (value,))
        token = watch.token()
        assert token is not None and token not in seen  # every commit, a new header
        seen.add(token)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES (99)")
    uncommitted = watch.token()
    writer.execute("ROLLBACK")
    assert uncommitted == watch.token() and uncommitted in seen  # a rollback changes nothing


def test_a_commit_after_a_wal_restart_and_from_another_process_changes_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.db"
    writer = _database(path)
    reader, watch = _watch(path)
    writer.execute("INSERT INTO t VALUES (1)")
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the next commit restarts the WAL
    before = watch.token()
    writer.execute("INSERT INTO t VALUES (2)")
    assert watch.token() not in (None, before)
    before = watch.token()
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1],"
                    " isolation_level=None); c.execute('INSERT INTO t VALUES (3)')", str(path)],
                   check=True, timeout=30)
    assert watch.token() not in (None, before)
    watch.close()
    assert watch.token() is None


def test_no_watch_without_a_shared_wal_index(tmp_path: Path) -> None:
    rollback = sqlite3.connect(tmp_path / "r.db", isolation_level=None)
    rollback.execute("CREATE TABLE t (x INTEGER)")
    assert WalIndexWatch.open(rollback, str(tmp_path / "r.db")) is None  # journal_mode=delete
    path = tmp_path / "x.db"
    _database(path).close()
    exclusive = sqlite3.connect(path, isolation_level=None)
    exclusive.execute("PRAGMA locking_mode=EXCLUSIVE")
    exclusive.execute("SELECT COUNT(*) FROM t").fetchone()
    assert WalIndexWatch.open(exclusive, str(path)) is None  # index kept in heap memory


def test_a_header_of_another_format_gives_no_token(tmp_path: Path) -> None:
    def header(version: int = WAL_INDEX_VERSION, initialised: int = 1, page: int = 4096) -> bytes:
        return struct.pack("=IIIBBHII", version, 0, 7, initialised, 0, page, 3, 2) + bytes(24)

    settled = header() * 2
    cases = [
        (settled, 4096, True),  # the known format, both copies equal
        (header(page=0) * 2, 4096, True),  # an empty WAL has no page size yet
        (header() + header(page=0), 4096, False),  # copies differ: a writer is mid-update
        (header(version=WAL_INDEX_VERSION + 1) * 2, 4096, False),  # another format version
        (header(initialised=0) * 2, 4096, False),  # not initialised
        (settled, 8192, False),  # not this database's page size
    ]
    fake = tmp_path / "fake-shm"
    for data, page_size, usable in cases:
        fake.write_bytes(data + bytes(40))
        with open(fake, "rb") as handle:
            mapping = mmap.mmap(handle.fileno(), 96, mmap.MAP_SHARED, mmap.PROT_READ)
        token = WalIndexWatch(mapping, page_size).token()
        assert token == (data if usable else None)
        mapping.close()
