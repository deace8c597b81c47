"""Everything the client raises, converted from zeep and requests at the boundary.

    HighwayError                      base of every error this library raises
    ├── TransportError                the service could not be reached or did not answer
    │   └── TimeoutError              no answer within the timeout
    ├── ProtocolError                 the answer was not a SOAP response (e.g. a proxy's page)
    └── ServiceFaultError             the service answered with a SOAP Fault
        ├── ValidationError           Client.SchemaValidation, Client.XMLSyntaxError, other
        │                             malformed-request codes, Client.ValueOutOfRange
        ├── UnknownHighwayError       Client.UnknownHighway, Client.UnknownDirection,
        │                             Client.UnknownSegment
        ├── AuthenticationError       wsse:* (the caller could not be authenticated)
        ├── NotAuthorizedError        Client.NotAuthorized (authenticated, wrong role)
        ├── RateLimitedError          Client.RateLimited (HTTP 429); has retry_after
        ├── OverloadedError           Server.Overloaded (HTTP 503); has retry_after
        └── UnavailableError          Server.Unavailable (HTTP 503): the service cannot check
                                      requests right now (e.g. its replay cache is down);
                                      has retry_after

Every ServiceFaultError keeps the fault `code` (e.g. "Client.UnknownHighway" or
"wsse:FailedAuthentication"), the `message`, the `http_status` and the `correlation_id`.
"""

from __future__ import annotations

import builtins


class HighwayError(Exception):
    """Base class of every error raised by the highway-traffic client."""


class TransportError(HighwayError):
    """The service could not be reached, or the connection failed mid-call."""


class TimeoutError(TransportError, builtins.TimeoutError):  # noqa: A001 - mirrors httpx naming
    """The service did not answer within the configured timeout."""


class ProtocolError(HighwayError):
    """The service's answer was not a SOAP response we understand."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class ServiceFaultError(HighwayError):
    """The service answered with a SOAP Fault."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        http_status: int | None = None,
        correlation_id: str | None = None,
        detail: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.correlation_id = correlation_id
        self.detail = dict(detail or {})

    @property
    def retry_after(self) -> float | None:
        """Seconds the service asked us to wait, when it said so."""
        value = self.detail.get("retryAfterSeconds")
        return float(value) if value is not None else None


class ValidationError(ServiceFaultError):
    """The request did not meet the contract (schema, syntax or value range)."""


class UnknownHighwayError(ServiceFaultError):
    """A well-formed highway, direction or segment that the network does not have."""


class AuthenticationError(ServiceFaultError):
    """The caller could not be authenticated (a wsse:* fault)."""


class NotAuthorizedError(ServiceFaultError):
    """The caller is authenticated but its role does not allow the operation."""


class RateLimitedError(ServiceFaultError):
    """Too many requests; wait `retry_after` seconds."""


class OverloadedError(ServiceFaultError):
    """The service is shedding load; wait `retry_after` seconds."""


class UnavailableError(ServiceFaultError):
    """The service cannot verify requests for a moment; wait `retry_after` seconds."""


def fault_class(code: str) -> type[ServiceFaultError]:
    """The exception class for a fault code (without the soap: prefix)."""
    if code.startswith("wsse:"):
        return AuthenticationError
    exact = {
        "Client.UnknownHighway": UnknownHighwayError,
        "Client.UnknownDirection": UnknownHighwayError,
        "Client.UnknownSegment": UnknownHighwayError,
        "Client.NotAuthorized": NotAuthorizedError,
        "Client.RateLimited": RateLimitedError,
        "Server.Overloaded": OverloadedError,
        "Server.Unavailable": UnavailableError,
    }
    if code in exact:
        return exact[code]
    if code.startswith("Client"):
        return ValidationError
    return ServiceFaultError


# Refusals that say when to come back (shared by the retry policy and `report`).
RETRYABLE_FAULTS = (RateLimitedError, OverloadedError, UnavailableError)
