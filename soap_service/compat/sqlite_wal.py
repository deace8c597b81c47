"""Whether a WAL-mode SQLite database may have changed, read from its wal-index header.

Why: every cached read checks a data version in the database (store/traffic_store.py); on
SQLite that is a hop to a reader thread and back, which costs more server CPU than the rest of
a cached read's store work (issue 17: ~10 % more cached reads per second without it). SQLite
itself answers "has anything been committed?" from the wal-index header in the `-shm` file,
which every connection to the database maps and which every commit rewrites (the change
counter, the last frame, the checksums; a WAL restart changes the salts). Reading those bytes
is a memory read: no database call, no lock, no wait, so the reactor can do it.

The layout is SQLite's unix/windows VFS wal-index format (sqlite.org/walformat.html), version
3007000 since SQLite 3.7.0: two 48-byte copies of the header at offset 0 (the writer updates
the second, then the first). `WalIndexWatch.token()` returns both copies, or None when they do
not look like that format (another version, a VFS that keeps the index in heap memory, no WAL),
and the caller then reads the database as before. Equal tokens mean no commit in between; a
token taken mid-update differs from every settled one, so it only causes a read.
tests/compat/test_sqlite_wal.py checks the format against the SQLite this Python links.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import struct

WAL_INDEX_VERSION = 3007000
_HEADER_COPY = 48
_TOKEN = slice(0, 2 * _HEADER_COPY)
# iVersion u32, unused u32, iChange u32, isInit u8, bigEndCksum u8, szPage u16 (native order).
_FIELDS = struct.Struct("=IIIBBH")


class WalIndexWatch:
    """A read-only mapping of one database's wal-index header."""

    def __init__(self, mapping: mmap.mmap, page_size: int) -> None:
        self._map = mapping
        self._page_size = page_size

    @classmethod
    def open(cls, conn: sqlite3.Connection, path: str) -> WalIndexWatch | None:
        """The watch of `path`'s database through an open connection that has read from it
        (so its wal-index exists and stays while `conn` is open); None when not applicable."""
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            locking = conn.execute("PRAGMA locking_mode").fetchone()[0]
            page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        except sqlite3.Error:
            return None
        if str(mode).lower() != "wal" or str(locking).lower() != "normal":
            return None  # no shared wal-index (or one kept in heap memory)
        try:
            fd = os.open(path + "-shm", os.O_RDONLY)
        except OSError:
            return None
        try:
            mapping = mmap.mmap(fd, _TOKEN.stop, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, ValueError):  # shorter than a header: not the format we know
            return None
        finally:
            os.close(fd)
        watch = cls(mapping, page_size)
        if watch.token() is None:
            watch.close()
            return None
        return watch

    def token(self) -> bytes | None:
        """Both header copies as they are now, or None when they are not a settled header of
        the known format (then nothing can be concluded without reading the database)."""
        try:
            header = self._map[_TOKEN]
        except ValueError:  # closed
            return None
        version, _, _, initialised, _, page_size = _FIELDS.unpack_from(header)
        # szPage stores 65536 as 1 (it does not fit in 16 bits), and 0 while the WAL is empty.
        page = 65536 if page_size == 1 else page_size
        if (version != WAL_INDEX_VERSION or initialised != 1 or page not in (0, self._page_size)
                or header[:_HEADER_COPY] != header[_HEADER_COPY:]):
            return None
        return header

    def close(self) -> None:
        """Unmap the header (token() is None from now on)."""
        self._map.close()
