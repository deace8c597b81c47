"""Unit tests of the travel-time model and congestion classification."""

from __future__ import annotations

import datetime as dt

import pytest

from soap_service.domain import Congestion, Direction, Segment, classify
from soap_service.traveltime import direction_travel_time, minutes_for, segment_travel_time

SEG = Segment("1-NB-01", "1", Direction.NB, 1, "A", "B", 10.0, 100.0)
T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (100, Congestion.FREE),
        (80, Congestion.FREE),
        (79.9, Congestion.MODERATE),
        (50, Congestion.MODERATE),
        (49.9, Congestion.HEAVY),
        (20, Congestion.HEAVY),
        (19.9, Congestion.STOPPED),
        (0, Congestion.STOPPED),
    ],
)
def test_congestion_thresholds_match_the_contract(current: float, expected: Congestion) -> None:
    assert classify(current, 100.0) is expected


def test_no_observations_means_free_flow_and_stale() -> None:
    state = segment_travel_time(SEG, [])
    assert state.stale is True
    assert state.speed_kph == 100.0
    assert state.current_minutes == pytest.approx(6.0)
    assert state.observed_at is None


def test_speed_is_the_median_and_observed_at_the_newest() -> None:
    recent = [
        (10.0, T0),
        (90.0, T0 + dt.timedelta(minutes=2)),
        (40.0, T0 + dt.timedelta(minutes=1)),
    ]
    state = segment_travel_time(SEG, recent)
    assert state.speed_kph == 40.0
    assert state.current_minutes == pytest.approx(15.0)
    assert state.congestion is Congestion.HEAVY
    assert state.observed_at == T0 + dt.timedelta(minutes=2)
    assert state.stale is False


def test_even_count_median_averages_the_middle_pair() -> None:
    state = segment_travel_time(SEG, [(20.0, T0), (60.0, T0)])
    assert state.speed_kph == 40.0


def test_stopped_segment_has_finite_time() -> None:
    assert minutes_for(1.0, 0.0) == pytest.approx(60.0)


def test_direction_total_is_the_sum_in_order() -> None:
    second = Segment("1-NB-02", "1", Direction.NB, 2, "B", "C", 5.0, 50.0)
    result = direction_travel_time("1", Direction.NB, [SEG, second], {"1-NB-02": [(25.0, T0)]}, T0)
    assert [s.segment.id for s in result.segments] == ["1-NB-01", "1-NB-02"]
    assert result.total_minutes == pytest.approx(6.0 + 12.0)
    assert result.free_flow_minutes == pytest.approx(12.0)
