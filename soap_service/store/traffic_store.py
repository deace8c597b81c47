"""Reading the network and travel times, and storing observation batches atomically."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from collections.abc import Callable, Sequence

from soap_service import traveltime
from soap_service.domain import (
    Direction,
    DirectionTravelTime,
    Highway,
    Observation,
    ReportResult,
    Segment,
)


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


class TrafficStore:
    """The service's data: a static network held in memory, observations in SQLite."""

    # Observations may not claim to be from further in the future than this (clock skew).
    MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
    # ... nor older than this: they could never influence a travel time.
    MAX_AGE = dt.timedelta(days=7)

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        window: dt.timedelta = dt.timedelta(minutes=10),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self._window = window
        self._clock = clock
        self._highways: dict[str, Highway] = {}
        self._segments: dict[str, Segment] = {}
        # Commits on this connection: PRAGMA data_version only sees other connections' commits.
        self._local_commits = 0
        self.reload_network()

    def now(self) -> dt.datetime:
        """The store's notion of the current time (UTC)."""
        return dt.datetime.fromtimestamp(self._clock(), tz=dt.UTC)

    def reload_network(self) -> None:
        """Read highways and segments into memory (they change only with migrations)."""
        names = dict(self._conn.execute("SELECT id, name FROM highways").fetchall())
        by_highway: dict[str, dict[Direction, list[Segment]]] = {hid: {} for hid in names}
        segments: dict[str, Segment] = {}
        rows = self._conn.execute(
            "SELECT id, highway_id, direction, position, from_name, to_name, length_km,"
            " free_flow_kph FROM segments ORDER BY highway_id, direction, position"
        )
        for row in rows:
            seg = Segment(row[0], row[1], Direction(row[2]), *row[3:])
            segments[seg.id] = seg
            by_highway[seg.highway_id].setdefault(seg.direction, []).append(seg)
        self._highways = {
            hid: Highway(hid, names[hid], {d: tuple(s) for d, s in dirs.items()})
            for hid, dirs in sorted(by_highway.items(), key=lambda item: _highway_sort_key(item[0]))
        }
        self._segments = segments
        self._local_commits += 1  # answers built from the old network are out of date

    def highways(self) -> list[Highway]:
        """Every highway, in numeric order."""
        return list(self._highways.values())

    def highway(self, highway_id: str) -> Highway:
        """One highway, or UnknownHighway."""
        try:
            return self._highways[highway_id]
        except KeyError:
            raise UnknownHighway(highway_id) from None

    def data_version(self) -> int:
        """Changes whenever any connection (any worker process) commits observations."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def answer_version(self) -> tuple[int, int, int]:
        """Equal for two reads only if they would see the same data at the same asOf second:
        (commits by other connections, commits by this one, the current second)."""
        return self.data_version(), self._local_commits, int(self._clock())

    def travel_times(
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
        rows = self._conn.execute(
            f"SELECT segment_id, speed_kph, observed_at_ms FROM observations"
            f" WHERE segment_id IN ({placeholders}) AND observed_at_ms >= ?",
            (*seg_ids, since_ms),
        )
        for seg_id, speed, at_ms in rows:
            recent.setdefault(seg_id, []).append((speed, _from_ms(at_ms)))
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

    def report(self, batch: Sequence[Observation]) -> ReportResult:
        """Store a batch atomically; (sensorId, observedAt) already stored counts as duplicate."""
        self.validate_batch(batch)
        received = _to_ms(self.now())
        rows = [
            (o.sensor_id, _to_ms(o.observed_at), o.segment_id, float(o.speed_kph), received)
            for o in batch
        ]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO observations"
                " (sensor_id, observed_at_ms, segment_id, speed_kph, received_at_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                rows,
            )
            accepted = conn.total_changes - before
            conn.execute("COMMIT")
            self._local_commits += 1
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return ReportResult(accepted=accepted, duplicates=len(rows) - accepted)

    def observation_count(self) -> int:
        """How many observations are stored (for tests and the service page)."""
        return int(self._conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query (readiness)."""
        self._conn.execute("SELECT 1").fetchone()


def _highway_sort_key(highway_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in highway_id if ch.isdigit())
    return (int(digits or 0), highway_id)
