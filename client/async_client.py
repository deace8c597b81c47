"""AsyncHighwayClient: HighwayClient's methods as coroutines, over zeep's async transport (httpx).

The requests and answers are those of client/operations.py (one mapping for both clients), the
errors those of client/errors.py and the retry policy that of client/retry.py.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterable
from typing import Any, TypeVar

import httpx
import zeep
import zeep.exceptions
import zeep.proxy
import zeep.transports

from client import errors, fast_reads, operations
from client.client import BINDING, DEFAULT_RETRY, bundled_wsdl_path, zeep_settings
from client.fast_reads import AsyncFastRead
from client.models import DirectionTravelTime, HighwaySummary, Observation, ReportResult
from client.operations import Call
from client.options import TlsCert, Verify, resolve_options
from client.plain_probe import plain_http_hint
from client.retry import RateLimitInfo, RetryPolicy, call_with_retry_async
from client.wsse import build_wsse

T = TypeVar("T")


class AsyncHighwayTransport(zeep.transports.AsyncTransport):
    """zeep's httpx transport that remembers, per task, the status and headers of the last POST
    (zeep's Fault carries neither)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        # zeep's own __init__ would also open a sync httpx.Client for remote WSDLs; the
        # contract is a local file, so only the async client is needed.
        self._close_session = False
        self.cache = None
        self.client = client
        self.wsdl_client = None
        self.logger = zeep.transports.logging.getLogger(__name__)
        self._status: contextvars.ContextVar[int | None] = contextvars.ContextVar(
            "highway_status", default=None)
        self._headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
            "highway_headers", default={})  # noqa: B039 - never mutated, only replaced

    async def post(self, address: str, message: Any, headers: dict[str, str]) -> Any:
        """POST the envelope and record the response's status and headers."""
        self._status.set(None)
        self._headers.set({})
        response = await self.client.post(address, content=message, headers=headers)
        self._status.set(response.status_code)
        self._headers.set(dict(response.headers))
        return response

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.client.aclose()

    @property
    def last_status(self) -> int | None:
        """HTTP status of this task's last POST (None if it never got an answer)."""
        return self._status.get()

    @property
    def last_headers(self) -> dict[str, str]:
        """Response headers of this task's last POST."""
        return self._headers.get()


class AsyncHighwayClient:
    """An asyncio client for one highway-traffic endpoint: `async with AsyncHighwayClient(...)`.

    Same keywords, methods (as coroutines), errors and retries as HighwayClient. Safe for many
    concurrent calls on one instance.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        timeout: float = 10.0,
        plugins: Iterable[Any] = (),
        retry: RetryPolicy = DEFAULT_RETRY,
        username: str | None = None,
        password: str | None = None,
        digest: bool = False,
        verify: Verify = True,
        cert: TlsCert | None = None,
        signing_cert: str | None = None,
        signing_key: str | None = None,
        key: str | None = None,  # deprecated: signing_key= (with cert= -> signing_cert=)
        tls_client_cert: str | None = None,  # deprecated: cert=(cert, key)
        tls_client_key: str | None = None,  # deprecated: cert=(cert, key)
        ca: str | None = None,  # deprecated: verify="ca.pem"
    ) -> None:
        options = resolve_options(
            url=url, timeout=timeout, username=username, password=password, digest=digest,
            verify=verify, cert=cert, signing_cert=signing_cert, signing_key=signing_key,
            legacy={"key": key, "tls_client_cert": tls_client_cert,
                    "tls_client_key": tls_client_key, "ca": ca},
        )
        self.options = options
        self.url = options.url
        self.timeout = options.timeout
        self.username = options.username
        self.retry = retry
        wsse = build_wsse(username=options.username, password=options.password,
                          digest=options.digest, cert=options.signing_cert,
                          key=options.signing_key)
        http = httpx.AsyncClient(verify=options.ssl_context(), timeout=self.timeout)
        self._transport = AsyncHighwayTransport(http)
        self._zeep = zeep.AsyncClient(bundled_wsdl_path(), transport=self._transport,
                                      settings=zeep_settings(), plugins=list(plugins),
                                      wsse=wsse)
        binding = self._zeep.wsdl.bindings[BINDING]
        self._service = zeep.proxy.AsyncServiceProxy(self._zeep, binding, address=self.url)
        # As in HighwayClient: plain read answers are read straight into models unless
        # plugins must see them (client/fast_reads.py).
        self._operations: dict[str, Any] = {
            name: getattr(self._service, name) for name in operations.OPERATIONS
        }
        if not self._zeep.plugins:
            wsdl = bundled_wsdl_path()
            self._operations["ListHighways"] = AsyncFastRead(
                self._zeep, self._service, "ListHighways", fast_reads.highways, wsdl)
            self._operations["GetTravelTimes"] = AsyncFastRead(
                self._zeep, self._service, "GetTravelTimes", fast_reads.travel_times, wsdl)

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncHighwayClient:
        """A client configured from HIGHWAY_URL, HIGHWAY_USERNAME and HIGHWAY_PASSWORD."""
        return cls(**kwargs)

    def __repr__(self) -> str:
        return self.options.describe(type(self).__name__)

    async def aclose(self) -> None:
        """Close pooled HTTP connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncHighwayClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # Operations (request and answer mapping: client/operations.py) --------------------------

    async def list_highways(self) -> list[HighwaySummary]:
        """Every highway of the network."""
        return await self._run(operations.list_highways())

    async def travel_times(
        self, highway: str | int, direction: str | None = None
    ) -> list[DirectionTravelTime]:
        """Current travel times for a highway, one direction or all; 'Highway 192' is fine."""
        return await self._run(operations.travel_times(highway, direction))

    async def report_observations(self, observations: Iterable[Observation]) -> ReportResult:
        """Report up to 1000 observations as one atomic, idempotent batch."""
        return await self._run(operations.report_observations(observations))

    # Boundary: zeep and httpx errors become ours -------------------------------------------

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The quota advertised on this task's last answer (RateLimit-* headers), if any."""
        return RateLimitInfo.from_headers(self._transport.last_headers)

    async def _run(self, call: Call[T]) -> T:
        operation = self._operations[call.operation]

        async def once() -> Any:
            return await self._call_once(operation, call.kwargs)

        return call.read(await call_with_retry_async(self.retry, call.operation, once))

    async def _call_once(self, operation: Any, kwargs: dict[str, Any]) -> Any:
        try:
            return await operation(**kwargs)
        except zeep.exceptions.Fault as exc:
            raise operations.fault_error(exc, self._transport.last_status) from exc
        except httpx.TimeoutException as exc:
            hint = await asyncio.to_thread(plain_http_hint, self.url, self.timeout)
            raise errors.TimeoutError(
                f"no answer from {self.url} within {self.timeout}s{hint}") from exc
        except httpx.HTTPError as exc:
            hint = await asyncio.to_thread(plain_http_hint, self.url, self.timeout)
            raise errors.TransportError(f"cannot reach {self.url}: {exc}{hint}") from exc
        except zeep.exceptions.Error as exc:
            mapped = operations.zeep_error(exc, self.url)
            if mapped is None:
                raise
            raise mapped from exc


__all__ = ["AsyncHighwayClient"]
