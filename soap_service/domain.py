"""The road network and traffic vocabulary: highways, directions, segments, observations."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class Direction(enum.StrEnum):
    """A travel direction on a highway."""

    NB = "NB"
    SB = "SB"
    EB = "EB"
    WB = "WB"


class Congestion(enum.StrEnum):
    """How far a segment's current speed is below its free-flow speed."""

    FREE = "FREE"
    MODERATE = "MODERATE"
    HEAVY = "HEAVY"
    STOPPED = "STOPPED"


# Ratio of current to free-flow speed at or above which each level applies; documented in the
# contract (ht:Congestion) so integrators can reproduce the classification.
CONGESTION_THRESHOLDS: tuple[tuple[float, Congestion], ...] = (
    (0.80, Congestion.FREE),
    (0.50, Congestion.MODERATE),
    (0.20, Congestion.HEAVY),
    (0.0, Congestion.STOPPED),
)

# Travel time uses at least this speed, so a stopped segment gets a long but finite time.
MIN_SPEED_FOR_TIME_KPH = 1.0


def classify(current_kph: float, free_flow_kph: float) -> Congestion:
    """The congestion level for a current speed relative to free flow."""
    ratio = current_kph / free_flow_kph if free_flow_kph > 0 else 0.0
    for threshold, level in CONGESTION_THRESHOLDS:
        if ratio >= threshold:
            return level
    return Congestion.STOPPED


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of one direction of a highway between two interchanges."""

    id: str
    highway_id: str
    direction: Direction
    position: int
    from_name: str
    to_name: str
    length_km: float
    free_flow_kph: float


@dataclasses.dataclass(frozen=True)
class Highway:
    """A highway and its directions, each an ordered list of segments."""

    id: str
    name: str
    segments: dict[Direction, tuple[Segment, ...]]

    @property
    def directions(self) -> tuple[Direction, ...]:
        """Directions in a stable order (NB, SB, EB, WB)."""
        return tuple(d for d in Direction if d in self.segments)

    @property
    def length_km(self) -> float:
        """Length of the highway: the longest of its directions."""
        return max(sum(s.length_km for s in segs) for segs in self.segments.values())

    @property
    def segment_count(self) -> int:
        """Segments over all directions."""
        return sum(len(segs) for segs in self.segments.values())


@dataclasses.dataclass(frozen=True)
class Observation:
    """One sensor reading: the speed on a segment at a moment (UTC)."""

    sensor_id: str
    segment_id: str
    observed_at: dt.datetime
    speed_kph: float


@dataclasses.dataclass(frozen=True)
class SegmentTravelTime:
    """A segment's current state, as computed from recent observations."""

    segment: Segment
    speed_kph: float
    current_minutes: float
    free_flow_minutes: float
    congestion: Congestion
    observed_at: dt.datetime | None
    stale: bool


@dataclasses.dataclass(frozen=True)
class DirectionTravelTime:
    """Travel time along one direction of a highway."""

    highway_id: str
    direction: Direction
    as_of: dt.datetime
    total_minutes: float
    free_flow_minutes: float
    segments: tuple[SegmentTravelTime, ...]


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """Outcome of an accepted observation batch."""

    accepted: int
    duplicates: int
