"""Reading the network and travel times, and storing observation batches atomically.

Every database call is a coroutine on an engine (store/engines.py): SQLite on its own threads,
PostgreSQL on the reactor's event loop. The network is read once at start (it changes only
with migrations); observations and the data version are read per request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
from soap_service.store.engines import Engine


class UnknownHighway(LookupError):
    """The highway id is well formed but not in the network."""


class UnknownDirection(LookupError):
    """The highway exists but does not run in the requested direction."""


@dataclasses.dataclass(frozen=True)
class InvalidObservation(ValueError):
    """One item of a batch cannot be stored; the whole batch is refused."""

    index: int  # 1-based position in the batch, as integrators count
    kind: str  # "unknown-segment" or "out-of-range"
    message: str

    def __str__(self) -> str:
        return f"observation {self.index}: {self.message}"


def _to_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(round(moment.timestamp() * 1000))


def _from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000.0, tz=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Network:
    """The road network as loaded from the database: highways in numeric order, segments."""

    highways: dict[str, Highway]
    segments: dict[str, Segment]


def load_network(conn: Any) -> Network:
    """Read highways and segments through a synchronous connection (at start-up)."""
    names = dict(conn.execute("SELECT id, name FROM highways").fetchall())
    by_highway: dict[str, dict[Direction, list[Segment]]] = {hid: {} for hid in names}
    segments: dict[str, Segment] = {}
    rows = conn.execute(
        "SELECT id, highway_id, direction, position, from_name, to_name, length_km,"
        " free_flow_kph FROM segments ORDER BY highway_id, direction, position"
    ).fetchall()
    for row in rows:
        seg = Segment(row[0], row[1], Direction(row[2]), *row[3:])
        segments[seg.id] = seg
        by_highway[seg.highway_id].setdefault(seg.direction, []).append(seg)
    highways = {
        hid: Highway(hid, names[hid], {d: tuple(s) for d, s in dirs.items()})
        for hid, dirs in sorted(by_highway.items(), key=lambda item: _highway_sort_key(item[0]))
    }
    return Network(highways, segments)


_INSERT_OBSERVATION = (
    "INSERT INTO observations"
    " (sensor_id, observed_at_ms, segment_id, speed_kph, received_at_ms)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sensor_id, observed_at_ms) DO NOTHING"
)
# Bumped in the same transaction as every batch: response caches of every process on every
# machine compare it (one single-row read) before reusing an answer.
_BUMP_VERSION = "UPDATE data_version SET version = version + 1 WHERE id = 1"
_READ_VERSION = "SELECT version FROM data_version WHERE id = 1"


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
    ) -> None:
        self.engine = engine
        self._window = window
        self._clock = clock
        self._highways = network.highways
        self._segments = network.segments

    def now(self) -> dt.datetime:
        """The store's notion of the current time (UTC)."""
        return dt.datetime.fromtimestamp(self._clock(), tz=dt.UTC)

    def highways(self) -> list[Highway]:
        """Every highway, in numeric order."""
        return list(self._highways.values())

    def highway(self, highway_id: str) -> Highway:
        """One highway, or UnknownHighway."""
        try:
            return self._highways[highway_id]
        except KeyError:
            raise UnknownHighway(highway_id) from None

    async def data_version(self) -> int:
        """Changes whenever any process on any machine commits observations."""
        row = await self.engine.fetchone(_READ_VERSION)
        return int(row[0]) if row else 0

    async def answer_version(self) -> tuple[int, int]:
        """Equal for two reads only if they would see the same data at the same asOf second:
        (the store's data version, the current second)."""
        return await self.data_version(), int(self._clock())

    async def travel_times(
        self, highway_id: str, direction: Direction | None = None
    ) -> list[DirectionTravelTime]:
        """Current travel times for one direction, or all directions of a highway."""
        highway = self.highway(highway_id)
        if direction is not None and direction not in highway.segments:
            raise UnknownDirection(f"{highway_id} {direction.value}")
        directions = [direction] if direction is not None else list(highway.directions)
        now = self.now()
        since_ms = _to_ms(now - self._window)
        seg_ids = [s.id for d in directions for s in highway.segments[d]]
        placeholders = ",".join("?" * len(seg_ids))
        recent: dict[str, list[tuple[float, dt.datetime]]] = {}
        rows = await self.engine.fetchall(
            f"SELECT segment_id, speed_kph, observed_at_ms FROM observations"
            f" WHERE segment_id IN ({placeholders}) AND observed_at_ms >= ?",
            (*seg_ids, since_ms),
        )
        for seg_id, speed, at_ms in rows:
            recent.setdefault(seg_id, []).append((float(speed), _from_ms(int(at_ms))))
        return [
            traveltime.direction_travel_time(highway_id, d, highway.segments[d], recent, now)
            for d in directions
        ]

    def validate_batch(self, batch: Sequence[Observation]) -> None:
        """Raise InvalidObservation for the first item that cannot be stored."""
        now = self.now()
        for index, obs in enumerate(batch, start=1):
            if obs.segment_id not in self._segments:
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
            if at < now - self.MAX_AGE:
                raise InvalidObservation(index, "out-of-range", "observedAt is older than 7 days")

    async def report(self, batch: Sequence[Observation]) -> ReportResult:
        """Store a batch atomically; (sensorId, observedAt) already stored -- by any process
        on any machine sharing the database -- counts as a duplicate."""
        self.validate_batch(batch)
        received = _to_ms(self.now())
        rows = [
            (o.sensor_id, _to_ms(o.observed_at), o.segment_id, float(o.speed_kph), received)
            for o in batch
        ]
        # The same (sensor, moment) twice in one batch counts once: the key decides.
        counts = await self.engine.transaction(
            [(_INSERT_OBSERVATION, rows, True), (_BUMP_VERSION, (), False)]
        )
        accepted = counts[0]
        return ReportResult(accepted=accepted, duplicates=len(rows) - accepted)

    async def observation_count(self) -> int:
        """How many observations are stored (for tests and the service page)."""
        row = await self.engine.fetchone("SELECT COUNT(*) FROM observations")
        return int(row[0]) if row else 0

    async def ping(self) -> None:
        """Raise StoreUnavailable if the database cannot answer a trivial query."""
        await self.engine.ping()


def _highway_sort_key(highway_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in highway_id if ch.isdigit())
    return (int(digits or 0), highway_id)


def open_traffic_store(
    url: str,
    *,
    load_sample_data: bool = True,
    timeout_s: float = 3.0,
    window: dt.timedelta = dt.timedelta(minutes=10),
    clock: Callable[[], float] = time.time,
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
    return TrafficStore(open_engine(url, timeout_s=timeout_s), network, window=window, clock=clock)
