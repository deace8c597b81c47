"""Python client for the highway-traffic SOAP service (zeep underneath, typed results on top)."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from client.async_client import AsyncHighwayClient


def __getattr__(name: str) -> Any:
    """AsyncHighwayClient is imported on first use (httpx is not needed by the sync client)."""
    if name == "AsyncHighwayClient":
        from client.async_client import AsyncHighwayClient

        return AsyncHighwayClient
    raise AttributeError(f"module 'client' has no attribute {name!r}")


__all__ = [
    "AsyncHighwayClient",
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
