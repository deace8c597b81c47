"""Travel-time model: a segment's speed is the median of its recent observations.

The store reads each segment's window as its speeds and latest time (`WindowSummary`);
`segment_travel_time` over (speed, observedAt) pairs is the same model, kept for tests that
check the two agree.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence

from soap_service.domain import (
    MIN_SPEED_FOR_TIME_KPH,
    Direction,
    DirectionTravelTime,
    Segment,
    SegmentTravelTime,
    classify,
)


def minutes_for(length_km: float, speed_kph: float) -> float:
    """Minutes to drive a length at a speed (floored so a stopped segment stays finite)."""
    return length_km / max(speed_kph, MIN_SPEED_FOR_TIME_KPH) * 60.0


# A segment's observations inside the window, summarized: (median speed, latest observedAt).
WindowSummary = tuple[float, dt.datetime]


def median_of_sorted(values: Sequence[float]) -> float:
    """statistics.median of values already in ascending order (the same float)."""
    count = len(values)
    middle = count // 2
    if count % 2 == 1:
        return float(values[middle])
    return float((values[middle - 1] + values[middle]) / 2)


def segment_travel_time(
    segment: Segment, recent: Sequence[tuple[float, dt.datetime]]
) -> SegmentTravelTime:
    """State of one segment from its observations inside the window: (speed, observed_at)."""
    if not recent:
        return segment_state(segment, None)
    speed = float(statistics.median(speed for speed, _ in recent))
    return segment_state(segment, (speed, max(at for _, at in recent)))


def segment_state(segment: Segment, summary: WindowSummary | None) -> SegmentTravelTime:
    """State of one segment from its window summary (None: no observation, free flow)."""
    free_minutes = minutes_for(segment.length_km, segment.free_flow_kph)
    if summary is None:
        return SegmentTravelTime(
            segment=segment,
            speed_kph=segment.free_flow_kph,
            current_minutes=free_minutes,
            free_flow_minutes=free_minutes,
            congestion=classify(segment.free_flow_kph, segment.free_flow_kph),
            observed_at=None,
            stale=True,
        )
    speed, observed_at = summary
    return SegmentTravelTime(
        segment=segment,
        speed_kph=speed,
        current_minutes=minutes_for(segment.length_km, speed),
        free_flow_minutes=free_minutes,
        congestion=classify(speed, segment.free_flow_kph),
        observed_at=observed_at,
        stale=False,
    )


def direction_travel_time(
    highway_id: str,
    direction: Direction,
    segments: Sequence[Segment],
    recent_by_segment: Mapping[str, Sequence[tuple[float, dt.datetime]]],
    as_of: dt.datetime,
) -> DirectionTravelTime:
    """Travel time along a direction: the sum over its segments, in driving order."""
    states = tuple(segment_travel_time(s, recent_by_segment.get(s.id, ())) for s in segments)
    return _direction(highway_id, direction, states, as_of)


def direction_from_summaries(
    highway_id: str,
    direction: Direction,
    segments: Sequence[Segment],
    summaries: Mapping[str, WindowSummary],
    as_of: dt.datetime,
) -> DirectionTravelTime:
    """Travel time along a direction from per-segment window summaries (what the store reads)."""
    states = tuple(segment_state(s, summaries.get(s.id)) for s in segments)
    return _direction(highway_id, direction, states, as_of)


def _direction(
    highway_id: str,
    direction: Direction,
    states: tuple[SegmentTravelTime, ...],
    as_of: dt.datetime,
) -> DirectionTravelTime:
    """The direction's totals over its segment states, in driving order."""
    return DirectionTravelTime(
        highway_id=highway_id,
        direction=direction,
        as_of=as_of,
        total_minutes=sum(s.current_minutes for s in states),
        free_flow_minutes=sum(s.free_flow_minutes for s in states),
        segments=states,
    )
