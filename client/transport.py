"""The HTTP transport under zeep: timeouts, TLS options, and the last response's status/headers."""

from __future__ import annotations

import threading
from typing import Any

import requests
import zeep.transports

from client.direct_http import DirectPoster


class HighwayTransport(zeep.transports.Transport):
    """A zeep Transport that remembers, per thread, the status and headers of the last POST.

    zeep raises its Fault without the answer's HTTP status or headers (Retry-After, RateLimit-*);
    the client reads them from `last_status` and `last_headers` to build its exceptions and
    quota information.
    """

    def __init__(
        self, *, timeout: float, session: requests.Session, direct: DirectPoster | None = None
    ) -> None:
        super().__init__(session=session, timeout=timeout, operation_timeout=timeout)
        self._local = threading.local()
        # Plain-HTTP endpoint with the client's own session: skip requests' per-call machinery.
        self._direct = direct

    def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
        """POST the envelope and record the response's status and headers."""
        self._local.status = None
        self._local.headers = {}
        if self._direct is not None and address == self._direct.url:
            response = self._direct.post(message, headers)
        else:
            response = super().post(address, message, headers)
        self._local.status = response.status_code
        self._local.headers = dict(response.headers)
        return response

    def close_direct(self) -> None:
        """Close this thread's direct connection, if the direct path is in use."""
        if self._direct is not None:
            self._direct.close()

    @property
    def last_status(self) -> int | None:
        """HTTP status of this thread's last POST (None if it never got an answer)."""
        return getattr(self._local, "status", None)

    @property
    def last_headers(self) -> dict[str, str]:
        """Response headers of this thread's last POST: a plain dict with the names as the
        server spelled them (readers compare them lowercased)."""
        return getattr(self._local, "headers", {})
