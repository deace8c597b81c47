"""Typed, frozen results and inputs of the client; no zeep objects leak out."""

from __future__ import annotations

import dataclasses
import datetime as dt

# The contract's namespace (the client package ships the same WSDL; stated once here).
TNS = "urn:highway-traffic:v1"


@dataclasses.dataclass(frozen=True)
class HighwaySummary:
    """One highway of the network."""

    id: str
    name: str
    directions: tuple[str, ...]
    length_km: float
    segment_count: int


@dataclasses.dataclass(frozen=True)
class SegmentTravelTime:
    """The current state of one segment."""

    segment_id: str
    from_name: str
    to_name: str
    length_km: float
    speed_kph: float
    current_minutes: float
    free_flow_minutes: float
    congestion: str
    observed_at: dt.datetime | None
    stale: bool


@dataclasses.dataclass(frozen=True)
class DirectionTravelTime:
    """Travel time along one direction of a highway."""

    highway: str
    direction: str
    as_of: dt.datetime
    total_minutes: float
    free_flow_minutes: float
    segments: tuple[SegmentTravelTime, ...]


@dataclasses.dataclass(frozen=True)
class Observation:
    """One sensor reading to report. `observed_at` must carry a time zone (UTC preferred)."""

    sensor_id: str
    segment_id: str
    observed_at: dt.datetime
    speed_kph: float


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """How many observations of a batch were new, and how many were already stored."""

    accepted: int
    duplicates: int
