"""Reading the network and travel times, and storing observation batches atomically.

Every database call is a coroutine on an engine (store/engines.py): SQLite on its own threads,
PostgreSQL on the reactor's event loop. The network is read at start and again whenever its
version in the database changes (`reload_network`, polled by store/network_watch.py and run on
SIGHUP); observations and the data version are read per request. `expire_observations` deletes
what retention no longer keeps, in small transactions.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from soap_service import traveltime
from soap_service.domain import (
    Direction,
    DirectionTravelTime,
    Highway,
    Observation,
    ReportResult,
    Segment,
)
from soap_service.store import network_db
from soap_service.store.engines import Engine, Step
from soap_service.store.fresh_read import FreshRead
from soap_service.store.speed_window import SegmentWindows


class UnknownHighway(LookupError):
    """The highway id is well formed but not in the network."""


class UnknownDirection(LookupError):
    """The highway exists but does not run in the requested direction."""


class InvalidObservation(ValueError):
    """One item of a batch cannot be stored; the whole batch is refused.

    A plain exception, not a frozen dataclass: Python sets `__traceback__` on an exception
    that passes through a context manager, which a frozen dataclass refuses (the refusal
    would then surface as FrozenInstanceError, a soap:Server)."""

    def __init__(self, index: int, kind: str, message: str) -> None:
        super().__init__(index, kind, message)
        self.index = index  # 1-based position in the batch, as integrators count
        self.kind = kind  # "unknown-segment" or "out-of-range"
        self.message = message

    def __str__(self) -> str:
        return f"observation {self.index}: {self.message}"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, InvalidObservation)
                and (self.index, self.kind, self.message) == (other.index, other.kind,
                                                               other.message))

    def __hash__(self) -> int:
        return hash((self.index, self.kind, self.message))


def _to_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(round(moment.timestamp() * 1000))


def _from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Network:
    """The road network as loaded from the database: highways in numeric order, segments,
    and the network version it was read at."""

    highways: dict[str, Highway]
    segments: dict[str, Segment]
    version: int = 0

    @classmethod
    def of(cls, highways: Sequence[Highway], version: int = 0) -> Network:
        """A Network from highways already in order."""
        return cls(
            {hw.id: hw for hw in highways},
            {s.id: s for hw in highways for segs in hw.segments.values() for s in segs},
            version,
        )


def load_network(conn: Any) -> Network:
    """Read the active highways and segments through a synchronous connection (at start-up)."""
    version = network_db.read_version(conn)
    return Network.of(network_db.read_highways(conn), version)


# Each row carries the data version its batch commits (bumped first in the same transaction):
# the incremental speed windows (store/speed_window.py) ask only for rows above what they hold.
_INSERT_OBSERVATION = (
    "INSERT INTO observations"
    " (sensor_id, observed_at_ms, segment_id, speed_kph, received_at_ms, batch_seq)"
    " VALUES (?, ?, ?, ?, ?, (SELECT version FROM data_version WHERE id = 1))"
    " ON CONFLICT (sensor_id, observed_at_ms) DO NOTHING"
)
# The same insert on PostgreSQL as one statement over column arrays: psycopg's executemany
# sends (and adapts) one statement per row, ~10 ms of event-loop CPU per 1000-item batch;
# unnest halves that and the round trips. A key repeated inside the batch is still stored
# once (ON CONFLICT DO NOTHING sees the statement's own earlier row), so rowcount = accepted.
_INSERT_OBSERVATIONS_PG = (
    "INSERT INTO observations"
    " (sensor_id, observed_at_ms, segment_id, speed_kph, received_at_ms, batch_seq)"
    " SELECT s, t, g, v, r, (SELECT version FROM data_version WHERE id = 1)"
    " FROM unnest(?::text[], ?::bigint[], ?::text[], ?::float8[], ?::bigint[])"
    " AS u(s, t, g, v, r)"
    " ON CONFLICT (sensor_id, observed_at_ms) DO NOTHING"
)
# Bumped in the same transaction as every batch: response caches of every process on every
# machine compare it (one single-row read) before reusing an answer.
_BUMP_VERSION = "UPDATE data_version SET version = version + 1 WHERE id = 1"
_READ_VERSION = "SELECT version FROM data_version WHERE id = 1"
# ... and, in the same transaction, the version of each highway the batch touched, so a
# cached answer about another highway stays valid (soap/response_cache.py). Highways are
# bumped in id order: two batches never wait on each other's rows in opposite orders.
_BUMP_HIGHWAY = (
    "INSERT INTO highway_data_version (highway_id, version) VALUES (?, 1)"
    " ON CONFLICT (highway_id) DO UPDATE SET version = highway_data_version.version + 1"
)
_READ_HIGHWAY_VERSION = (
    "SELECT COALESCE((SELECT version FROM highway_data_version WHERE highway_id = ?), 0)"
)
# Retention: the oldest expired observations, a few thousand per transaction, so a batch
# being stored never waits long behind a delete (same SQL on both engines).
_EXPIRE_CHUNK = (
    "DELETE FROM observations WHERE (sensor_id, observed_at_ms) IN ("
    " SELECT sensor_id, observed_at_ms FROM observations WHERE observed_at_ms < ?"
    " ORDER BY observed_at_ms LIMIT ?)"
)
# A segment's window through the covering index of migration 6 (segment, time, speed): one
# snapshot, no table lookups. Same SQL on both engines.
_WINDOW_ROWS = (
    "SELECT segment_id, speed_kph, observed_at_ms, NULL FROM observations"
    " WHERE segment_id IN ({placeholders}) AND observed_at_ms >= ?"
    " UNION ALL SELECT NULL, NULL, NULL, version FROM data_version WHERE id = 1"
)
# ... and later only the rows stored since (index of migration 7).
_NEW_ROWS = (
    "SELECT segment_id, speed_kph, observed_at_ms, batch_seq FROM observations"
    " WHERE segment_id IN ({placeholders}) AND batch_seq > ?"
)
MAX_WINDOW_SETS = 4096  # segment sets (a highway, or one direction) whose windows are kept
WINDOW_IDLE_SECONDS = 60.0  # windows not read for this long are no longer refreshed
log = logging.getLogger("highway.store")


class KnownVersions:
    """Data versions read under one change token; valid while the engine's token is equal.

    A version is remembered with the token taken before its read began, so it is at least as
    new as that state; while the current token equals it nothing was committed since, and the
    version is still the one a read would return. Bounded: ids come from requests."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._token: bytes | None = None
        self._versions: dict[str | None, int] = {}

    def get(self, key: str | None, token: bytes | None) -> int | None:
        """The version of `key` if it was read under `token` (None: unknown, read it)."""
        if token is None or token != self._token:
            return None
        return self._versions.get(key)

    def remember(self, token: bytes | None, key: str | None, version: int) -> None:
        """`version` of `key` was read after `token` was taken."""
        if token is None:
            return
        if token != self._token:
            self._token, self._versions = token, {}
        elif len(self._versions) >= self.LIMIT:
            self._versions.clear()
        self._versions[key] = version


class TrafficStore:
    """The service's data: a static network held in memory, observations in the database."""

    # Observations may not claim to be from further in the future than this (clock skew).
    MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
    # ... nor older than this: they could never influence a travel time.
    MAX_AGE = dt.timedelta(days=7)

    def __init__(
        self,
        engine: Engine,
        network: Network,
        *,
        window: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], float] = time.time,
        retention: dt.timedelta | None = None,
    ) -> None:
        self.engine = engine
        self._window = window
        self._clock = clock
        self._network = network
        self._windows: dict[tuple[str, ...], SegmentWindows] = {}
        self.retention = retention
        # Everything accepted stays stored until it could no longer be accepted again, so a
        # resent observation is always found a duplicate: a retention shorter than the 7-day
        # acceptance window shortens the acceptance window to match.
        self.max_age = min(self.MAX_AGE, retention) if retention is not None else self.MAX_AGE
        # Every read checks a version; concurrent checks share one round trip (fresh_read.py).
        self._data_version: FreshRead[None, int] = FreshRead(self._read_data_version)
        self._highway_version: FreshRead[str, int] = FreshRead(self._read_highway_version)
        # Versions read since the engine's change token last changed (nothing committed
        # since; SQLite: compat/sqlite_wal.py): a read of one of them needs no round trip.
        self._known = KnownVersions()

    @property
    def network_version(self) -> int:
        """The version of the network being served."""
        return self._network.version

    async def read_network_version(self) -> int:
        """The network version in the database (one single-row read)."""
        row = await self.engine.fetchone(network_db.VERSION_SQL)
        return int(row[0]) if row else 0

    async def reload_network(self) -> bool:
        """Serve the database's network if its version changed; True if it was replaced.

        Raises NetworkOutsideContract (keeping the served network) if the stored network
        does not fit the published contract."""
        from soap_service.contract.limits import check_network

        version = await self.read_network_version()
        if version == self._network.version:
            return False
        # Read after the version: the rows are at least as new as the version they get.
        highway_rows = await self.engine.fetchall(network_db.HIGHWAYS_SQL)
        segment_rows = await self.engine.fetchall(network_db.SEGMENTS_SQL)


        def build() -> Network:
            highways = network_db.build_highways(highway_rows, segment_rows)
            check_network(highways)
            return Network.of(highways, version)

        # Building a large network is CPU work: a worker thread, not the reactor's.
        self._network = await asyncio.to_thread(build)
        return True

    def now(self) -> dt.datetime:
        """The store's notion of the current time (UTC)."""
        return dt.datetime.fromtimestamp(self._clock(), tz=dt.UTC)

    def highways(self) -> list[Highway]:
        """Every highway, in numeric order."""
        return list(self._network.highways.values())

    def highway(self, highway_id: str) -> Highway:
        """One highway, or UnknownHighway."""
        try:
            return self._network.highways[highway_id]
        except KeyError:
            raise UnknownHighway(highway_id) from None

    async def data_version(self) -> int:
        """Changes whenever any process on any machine commits observations (read after
        this call began, or read earlier with nothing committed since)."""
        return await self._version(None, self._data_version)

    async def _read_data_version(self, _: None) -> int:
        return await self._read_version(None, _READ_VERSION, ())

    async def answer_version(self) -> tuple[int, int, int]:
        """Equal for two reads only if they would see the same data at the same asOf second:
        (the store's data version, the current second, the network version being served)."""
        return await self.data_version(), int(self._clock()), self._network.version

    async def highway_data_version(self, highway_id: str) -> int:
        """Changes whenever any process on any machine commits observations on this highway
        (read after this call began, or read earlier with nothing committed since)."""
        return await self._version(highway_id, self._highway_version)

    async def _read_highway_version(self, highway_id: str) -> int:
        return await self._read_version(highway_id, _READ_HIGHWAY_VERSION, (highway_id,))

    async def _version(self, key: Any, read: FreshRead[Any, int]) -> int:
        """A version known unchanged since it was read, or a fresh read (shared: FreshRead)."""
        known = self._known.get(key, self.engine.change_token())
        return known if known is not None else await read(key)

    async def _read_version(self, key: str | None, sql: str, params: tuple[Any, ...]) -> int:
        """One version read, remembered with the change token taken before it."""
        token = self.engine.change_token()  # before the read: it sees at least this state
        row = await self.engine.fetchone(sql, params)
        version = int(row[0]) if row and row[0] is not None else 0
        self._known.remember(token, key, version)
        return version

    async def highway_answer_version(self, highway_id: str) -> tuple[int, int, int]:
        """Like `answer_version`, for answers about one highway only: (that highway's data
        version, the current second, the network version being served)."""
        return (await self.highway_data_version(highway_id), int(self._clock()),
                self._network.version)

    async def travel_times(
        self, highway_id: str, direction: Direction | None = None
    ) -> list[DirectionTravelTime]:
        """Current travel times for one direction, or all directions of a highway."""
        highway = self.highway(highway_id)
        if direction is not None and direction not in highway.segments:
            raise UnknownDirection(f"{highway_id} {direction.value}")
        directions = [direction] if direction is not None else list(highway.directions)
        now = self.now()
        seg_ids = [s.id for d in directions for s in highway.segments[d]]
        summaries = await self.window_summaries(seg_ids, _to_ms(now - self._window))
        return [
            traveltime.direction_from_summaries(
                highway_id, d, highway.segments[d], summaries, now)
            for d in directions
        ]

    async def window_summaries(
        self, segment_ids: Sequence[str], since_ms: int, *, read: bool = True
    ) -> dict[str, traveltime.WindowSummary]:
        """(median speed, latest observedAt) of each segment's observations since `since_ms`;
        segments without one are absent. The first read of a set of segments loads its window;
        later reads fetch only rows stored since and expire the old (store/speed_window.py).
        `read=False`: a refresh (refresh_windows), not a read that keeps the window in use."""
        if not segment_ids:
            return {}
        key = tuple(segment_ids)
        windows = self._windows.get(key)
        if windows is None or windows.network_version != self._network.version:
            if len(self._windows) >= MAX_WINDOW_SETS:
                self._windows.clear()
            windows = self._windows[key] = SegmentWindows(key, self._network.version)
        if read:
            windows.last_read = time.monotonic()
        placeholders = ",".join("?" * len(key))
        if windows.seen is None or windows.since_ms is None or since_ms < windows.since_ms:
            rows = await self.engine.fetchall(
                _WINDOW_ROWS.format(placeholders=placeholders), (*key, since_ms))
            version = next(int(r[3]) for r in rows if r[0] is None)
            windows.load(((r[0], r[1], r[2]) for r in rows if r[0] is not None),
                         version, since_ms)
        else:
            rows = await self.engine.fetchall(
                _NEW_ROWS.format(placeholders=placeholders), (*key, windows.seen))
            windows.add((r[0], float(r[1]), int(r[2]), int(r[3])) for r in rows)
            windows.expire(since_ms)
        return windows.summaries()

    async def refresh_windows(self, *, idle_seconds: float = WINDOW_IDLE_SECONDS) -> int:
        """Bring the speed windows read in the last `idle_seconds` up to date with the rows
        stored since (by any process); returns how many were refreshed.

        Run every second (WindowRefresher), so the first read after a spell of ingest without
        reads merges about a second of rows, not all of them (which held every read of that
        highway for ~100 ms at 25,000 observations/s). The same incremental read as a read's,
        so it is exact and safe beside concurrent reads (store/speed_window.py)."""
        version = await self.data_version()
        since_ms = _to_ms(self.now() - self._window)
        now = time.monotonic()
        refreshed = 0
        for key, windows in list(self._windows.items()):
            if (windows.seen is None or windows.seen >= version
                    or windows.network_version != self._network.version
                    or windows.since_ms is None or since_ms < windows.since_ms
                    or now - windows.last_read > idle_seconds):
                continue
            await self.window_summaries(key, since_ms, read=False)
            refreshed += 1
        return refreshed

    def validate_batch(self, batch: Sequence[Observation]) -> None:
        """Raise InvalidObservation for the first item that cannot be stored."""
        now = self.now()
        segments = self._network.segments
        for index, obs in enumerate(batch, start=1):
            if obs.segment_id not in segments:
                raise InvalidObservation(
                    index, "unknown-segment", f"unknown segment {obs.segment_id!r}"
                )
            at = (
                obs.observed_at
                if obs.observed_at.tzinfo
                else obs.observed_at.replace(tzinfo=dt.UTC)
            )
            if at > now + self.MAX_FUTURE_SKEW:
                raise InvalidObservation(
                    index, "out-of-range", "observedAt is more than 5 minutes in the future"
                )
            if at < now - self.max_age:
                raise InvalidObservation(
                    index, "out-of-range", f"observedAt is older than {_age_text(self.max_age)}"
                )

    async def report(self, batch: Sequence[Observation]) -> ReportResult:
        """Store a batch atomically; (sensorId, observedAt) already stored -- by any process
        on any machine sharing the database -- counts as a duplicate."""
        self.validate_batch(batch)
        received = _to_ms(self.now())
        moments: dict[dt.datetime, int] = {}  # a batch repeats its timestamps
        rows = []
        for o in batch:
            at_ms = moments.get(o.observed_at)
            if at_ms is None:
                at_ms = moments[o.observed_at] = _to_ms(o.observed_at)
            rows.append((o.sensor_id, at_ms, o.segment_id, float(o.speed_kph), received))
        # The same (sensor, moment) twice in one batch counts once: the key decides.
        segments = self._network.segments
        touched = sorted({segments[o.segment_id].highway_id for o in batch})
        # The version first: its row lock orders batches, so the version each row carries
        # grows in commit order on both engines (what the speed windows rely on).
        insert: Step = (_INSERT_OBSERVATION, rows, True)
        if self.engine.kind == "postgresql":
            columns = [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * 5
            insert = (_INSERT_OBSERVATIONS_PG, columns, False)
        counts = await self.engine.transaction([
            (_BUMP_VERSION, (), False),
            insert,
            (_BUMP_HIGHWAY, [(hid,) for hid in touched], True),
        ])
        accepted = counts[1]
        return ReportResult(accepted=accepted, duplicates=len(rows) - accepted)

    async def observation_count(self) -> int:
        """How many observations are stored (for tests and the service page)."""
        row = await self.engine.fetchone("SELECT COUNT(*) FROM observations")
        return int(row[0]) if row else 0

    async def expire_observations(self, *, chunk: int = 5000, max_chunks: int = 100) -> int:
        """Delete observations older than the retention, `chunk` rows per transaction, at most
        `max_chunks` transactions; returns how many were deleted (0 without a retention).

        Expired rows are older than any speed window and the acceptance window, so no answer
        changes and the data version is not bumped. SQLite then returns the freed pages to the
        file system (incremental vacuum), so the file stays as large as the retained data."""
        if self.retention is None:
            return 0
        cutoff = _to_ms(self.now() - self.retention)
        deleted = 0
        for _ in range(max_chunks):
            (count,) = await self.engine.transaction([(_EXPIRE_CHUNK, (cutoff, chunk), False)])
            deleted += count
            if count < chunk:
                break
        if deleted:
            await self._vacuum()
        return deleted

    async def _vacuum(self, *, pages: int = 2000, max_steps: int = 200) -> None:
        """SQLite: hand freed pages back to the file system, `pages` per writer job (other
        writes interleave); a file without incremental auto-vacuum keeps them for reuse.
        PostgreSQL: VACUUM the table, so new rows reuse the space at once (autovacuum alone
        lags a steady delete-and-insert stream, and the table grows meanwhile)."""
        from soap_service.store.engines import PostgresEngine, SqliteEngine

        engine = self.engine
        if isinstance(engine, PostgresEngine):
            try:
                await engine.vacuum("observations")
            except Exception as exc:  # noqa: BLE001 - maintenance: autovacuum remains
                log.warning("retention: VACUUM observations failed (%s); autovacuum will "
                            "reclaim the space later", exc)
            return
        if not isinstance(engine, SqliteEngine):
            return

        def step(conn: Any) -> int:
            if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
                return 0
            # executescript runs the pragma to completion (execute frees one page per call).
            conn.executescript(f"PRAGMA incremental_vacuum({int(pages)});")
            return int(conn.execute("PRAGMA freelist_count").fetchone()[0])

        for _ in range(max_steps):
            if await engine._submit(True, step) == 0:
                break

    async def ping(self) -> None:
        """Raise StoreUnavailable if the database cannot answer a trivial query."""
        await self.engine.ping()


def _age_text(age: dt.timedelta) -> str:
    """ "7 days", "36 hours", "90 minutes" for the out-of-range message."""
    seconds = int(age.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def open_traffic_store(
    url: str,
    *,
    load_sample_data: bool = True,
    timeout_s: float = 3.0,
    window: dt.timedelta = dt.timedelta(minutes=10),
    clock: Callable[[], float] = time.time,
    retention: dt.timedelta | None = None,
) -> TrafficStore:
    """Migrate the database named by `url`, load the sample network into an empty one, read
    the network, and return a store on that URL's asynchronous engine (blocks: call it
    before serving, never on the reactor)."""
    from soap_service.store import database, sample_network
    from soap_service.store.engines import open_engine

    conn = database.connect(url)
    try:
        if load_sample_data:
            sample_network.load_if_empty(conn)
        network = load_network(conn)
    finally:
        conn.close()
    return TrafficStore(open_engine(url, timeout_s=timeout_s), network, window=window, clock=clock,
                        retention=retention)
