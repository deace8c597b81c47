"""Travel-time model: a segment's speed is the median of its recent observations."""

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


def segment_travel_time(
    segment: Segment, recent: Sequence[tuple[float, dt.datetime]]
) -> SegmentTravelTime:
    """State of one segment from its observations inside the window: (speed, observed_at)."""
    free_minutes = minutes_for(segment.length_km, segment.free_flow_kph)
    if not recent:
        return SegmentTravelTime(
            segment=segment,
            speed_kph=segment.free_flow_kph,
            current_minutes=free_minutes,
            free_flow_minutes=free_minutes,
            congestion=classify(segment.free_flow_kph, segment.free_flow_kph),
            observed_at=None,
            stale=True,
        )
    speed = float(statistics.median(speed for speed, _ in recent))
    return SegmentTravelTime(
        segment=segment,
        speed_kph=speed,
        current_minutes=minutes_for(segment.length_km, speed),
        free_flow_minutes=free_minutes,
        congestion=classify(speed, segment.free_flow_kph),
        observed_at=max(at for _, at in recent),
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
    return DirectionTravelTime(
        highway_id=highway_id,
        direction=direction,
        as_of=as_of,
        total_minutes=sum(s.current_minutes for s in states),
        free_flow_minutes=sum(s.free_flow_minutes for s in states),
        segments=states,
    )
