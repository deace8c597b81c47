"""The one exception a dependency raises when it cannot serve now, answered as a fault."""

from __future__ import annotations

from soap_service.faults import ServiceFault


class DependencyUnavailable(RuntimeError):
    """A dependency (the database) cannot serve this call now; the pipeline answers
    `as_fault()` (503 with Retry-After) instead of a Server fault."""

    def as_fault(self) -> ServiceFault:
        """The refusal sent to the client."""
        raise NotImplementedError
