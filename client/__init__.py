"""Python client for the highway-traffic SOAP service (zeep underneath, typed results on top)."""

from client.client import HighwayClient
from client.errors import (
    AuthenticationError,
    HighwayError,
    NotAuthorizedError,
    OverloadedError,
    ProtocolError,
    RateLimitedError,
    ServiceFaultError,
    TimeoutError,
    TransportError,
    UnavailableError,
    UnknownHighwayError,
    ValidationError,
)
from client.models import (
    DirectionTravelTime,
    HighwaySummary,
    Observation,
    ReportResult,
    SegmentTravelTime,
)

__all__ = [
    "AuthenticationError",
    "DirectionTravelTime",
    "HighwayClient",
    "HighwayError",
    "HighwaySummary",
    "NotAuthorizedError",
    "Observation",
    "OverloadedError",
    "ProtocolError",
    "RateLimitedError",
    "ReportResult",
    "SegmentTravelTime",
    "ServiceFaultError",
    "TimeoutError",
    "TransportError",
    "UnavailableError",
    "UnknownHighwayError",
    "ValidationError",
]
