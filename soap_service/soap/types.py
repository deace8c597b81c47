"""Spyne model of the contract's types; mirrors wsdl/highway-traffic.wsdl (a test checks it)."""

from __future__ import annotations

from typing import Any

from spyne import Boolean, ComplexModel, DateTime, Decimal, Double, Enum, Integer32, Unicode

from soap_service import CONTRACT_NAMESPACE
from soap_service.contract.limits import contract_limits

NS = CONTRACT_NAMESPACE
# List bounds come from the checked-in XSD itself (one fact, one place): the model cannot drift.
MAX_HIGHWAYS = contract_limits().max_highways
MAX_SEGMENTS_PER_DIRECTION = contract_limits().max_segments_per_direction


def _required(model: Any) -> Any:
    return model.customize(min_occurs=1, nillable=False)


HighwayId = Unicode(pattern=r"[0-9]{1,4}[A-Z]?", type_name="HighwayId")
DirectionCode = Enum("NB", "SB", "EB", "WB", type_name="Direction")
CongestionLevel = Enum("FREE", "MODERATE", "HEAVY", "STOPPED", type_name="Congestion")
SegmentId = Unicode(
    min_len=1, max_len=32, pattern=r"[A-Za-z0-9][A-Za-z0-9_\-]*", type_name="SegmentId"
)
SensorId = Unicode(
    min_len=1, max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9._:\-]*", type_name="SensorId"
)
PlaceName = Unicode(min_len=1, max_len=100, type_name="PlaceName")
UtcDateTime = DateTime(pattern=r".+(Z|[+\-][0-9]{2}:[0-9]{2})", type_name="UtcDateTime")
SpeedKph = Decimal(ge=0, le=300, fraction_digits=2, type_name="SpeedKph")
Count = Integer32(ge=0, le=1000, type_name="Count")


class HighwaySummary(ComplexModel):
    """One highway of the network."""

    __namespace__ = NS
    __type_name__ = "HighwaySummary"
    _type_info = [
        ("id", _required(HighwayId)),
        ("name", _required(PlaceName)),
        ("direction", DirectionCode.customize(min_occurs=1, max_occurs=4, nillable=False)),
        ("lengthKm", _required(Double)),
        ("segmentCount", _required(Integer32)),
    ]


class SegmentTravelTime(ComplexModel):
    """The current state of one segment."""

    __namespace__ = NS
    __type_name__ = "SegmentTravelTime"
    _type_info = [
        ("segmentId", _required(SegmentId)),
        ("fromName", _required(PlaceName)),
        ("toName", _required(PlaceName)),
        ("lengthKm", _required(Double)),
        ("speedKph", _required(Double)),
        ("currentMinutes", _required(Double)),
        ("freeFlowMinutes", _required(Double)),
        ("congestion", _required(CongestionLevel)),
        ("observedAt", UtcDateTime.customize(min_occurs=0, nillable=False)),
        ("stale", _required(Boolean)),
    ]


class DirectionTravelTime(ComplexModel):
    """Travel time along one direction of a highway."""

    __namespace__ = NS
    __type_name__ = "DirectionTravelTime"
    _type_info = [
        ("highway", _required(HighwayId)),
        ("direction", _required(DirectionCode)),
        ("asOf", _required(UtcDateTime)),
        ("totalMinutes", _required(Double)),
        ("freeFlowMinutes", _required(Double)),
        ("segment", SegmentTravelTime.customize(
            min_occurs=1, max_occurs=MAX_SEGMENTS_PER_DIRECTION, nillable=False)),
    ]


class Observation(ComplexModel):
    """One sensor reading to report."""

    __namespace__ = NS
    __type_name__ = "Observation"
    _type_info = [
        ("sensorId", _required(SensorId)),
        ("segmentId", _required(SegmentId)),
        ("observedAt", _required(UtcDateTime)),
        ("speedKph", _required(SpeedKph)),
    ]
