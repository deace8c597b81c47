"""HighwayClient: typed calls to the highway-traffic service over zeep."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions

from client import errors, fast_reads, operations
from client.direct_http import DirectPoster, usable_for
from client.fast_reads import FastRead
from client.fast_report import FastReport, ReportBody
from client.models import TNS, DirectionTravelTime, HighwaySummary, Observation, ReportResult
from client.operations import Call, normalize_highway
from client.options import TlsCert, Verify, resolve_options
from client.plain_probe import plain_http_hint
from client.retry import RateLimitInfo, RetryPolicy, call_with_retry
from client.tls_session import configure_tls
from client.transport import HighwayTransport
from client.wsse import build_wsse

BINDING = f"{{{TNS}}}HighwayTrafficSoapBinding"
WSDL_FILE = "highway-traffic.wsdl"
T = TypeVar("T")
DEFAULT_RETRY = RetryPolicy()
PreparedReport = Call[ReportResult]  # a ReportObservations request ready to send


@functools.cache
def bundled_wsdl_path() -> str:
    """Filesystem path of the contract: the copy the build put in this package (an installed
    wheel), else the checked-in wsdl/ of the source tree (a checkout, an editable install)."""
    bundled = resources.files(__package__).joinpath("contract", WSDL_FILE)
    if bundled.is_file():
        return str(bundled)
    return str(Path(__file__).resolve().parents[1] / "wsdl" / WSDL_FILE)


def zeep_settings() -> zeep.Settings:
    """Strict parsing, no huge trees, no entities: the settings of both clients."""
    return zeep.Settings(strict=True, xml_huge_tree=False, forbid_entities=True)


class HighwayClient:
    """A client for one highway-traffic endpoint. Thread-safe for calls; reuse one instance.

    The contract is loaded from the copy bundled with this package (no WSDL fetch), and every
    call has a timeout. TLS is named as in httpx: `verify=` (True, False or a CA bundle) and
    `cert=` (the TLS client certificate: 'client.pem' or ('client.pem', 'key.pem')); the
    WS-Security X.509 signature uses `signing_cert=`/`signing_key=`. Arguments not given fall
    back to HIGHWAY_URL, HIGHWAY_USERNAME and HIGHWAY_PASSWORD.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
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
        self.retry = retry  # 429/503: honour Retry-After, bounded and jittered (NO_RETRY: off)
        self._session = session or requests.Session()
        # WS-Security (UsernameToken, X.509 signature) and mutual TLS: see client/wsse.py.
        wsse = build_wsse(username=options.username, password=options.password,
                          digest=options.digest, cert=options.signing_cert,
                          key=options.signing_key)
        configure_tls(self._session, options)
        # Our own session on a plain-HTTP, unproxied URL: post without requests' per-call cost
        # (client/direct_http.py). A caller's session may carry adapters or hooks: keep it.
        direct = (DirectPoster(self.url, self.timeout)
                  if session is None and usable_for(self.url) else None)
        self._transport = HighwayTransport(timeout=self.timeout, session=self._session,
                                           direct=direct)
        self._zeep = zeep.Client(
            bundled_wsdl_path(),
            transport=self._transport,
            settings=zeep_settings(),
            plugins=list(plugins),
            wsse=wsse,
        )
        self._service = self._zeep.create_service(BINDING, self.url)
        # Plain read answers are read straight into models (client/fast_reads.py); plugins
        # must see every answer, so with plugins zeep does all of the work.
        self._operations: dict[str, Any] = {
            name: getattr(self._service, name) for name in operations.OPERATIONS
        }
        if not self._zeep.plugins:
            wsdl = bundled_wsdl_path()
            self._operations["ListHighways"] = FastRead(
                self._zeep, self._service, "ListHighways", fast_reads.highways, wsdl)
            self._operations["GetTravelTimes"] = FastRead(
                self._zeep, self._service, "GetTravelTimes", fast_reads.travel_times, wsdl)
            self._operations["ReportObservations"] = FastReport(self._zeep, self._service, wsdl)

    @classmethod
    def from_env(cls, **kwargs: Any) -> HighwayClient:
        """A client configured from HIGHWAY_URL, HIGHWAY_USERNAME and HIGHWAY_PASSWORD."""
        return cls(**kwargs)

    def __repr__(self) -> str:
        return self.options.describe(type(self).__name__)

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self._session.close()
        self._transport.close_direct()

    def __enter__(self) -> HighwayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Operations (request and answer mapping: client/operations.py) --------------------------

    def list_highways(self) -> list[HighwaySummary]:
        """Every highway of the network."""
        return self._run(operations.list_highways())

    def travel_times(
        self, highway: str | int, direction: str | None = None
    ) -> list[DirectionTravelTime]:
        """Current travel times for a highway, one direction or all; 'Highway 192' is fine."""
        return self._run(operations.travel_times(highway, direction))

    def report_observations(self, observations: Iterable[Observation]) -> ReportResult:
        """Report up to 1000 observations as one atomic, idempotent batch."""
        return self.send_report(self.prepare_report(observations))

    def prepare_report(self, observations: Iterable[Observation]) -> PreparedReport:
        """The batch's request made ready to send, without sending it (ValueError, as from
        report_observations, for a naive time or an empty batch). Thread-safe: a caller may
        prepare the next batch while this one is in flight. WS-Security is applied by
        `send_report` (a fresh nonce and Created for every attempt)."""
        if isinstance(self._operations["ReportObservations"], FastReport):
            return Call("ReportObservations", {"observation": ReportBody(observations)},
                        operations.read_report)
        return operations.report_observations(observations)  # zeep's items (plugins)

    def send_report(self, prepared: PreparedReport) -> ReportResult:
        """Send a prepared batch: what report_observations does once the request is made
        (retry on 429/503 per the policy, faults as ServiceFaultError subclasses)."""
        return self._run(prepared)

    # Boundary: zeep and requests errors become ours ----------------------------------------

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The quota advertised on this thread's last answer (RateLimit-* headers), if any."""
        return RateLimitInfo.from_headers(self._transport.last_headers)

    def _run(self, call: Call[T]) -> T:
        operation = self._operations[call.operation]
        result = call_with_retry(self.retry, call.operation,
                                 lambda: self._call_once(operation, **call.kwargs))
        return call.read(result)

    def _call_once(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except zeep.exceptions.Fault as exc:
            raise operations.fault_error(exc, self._transport.last_status) from exc
        except requests.Timeout as exc:
            hint = plain_http_hint(self.url, self.timeout)
            raise errors.TimeoutError(
                f"no answer from {self.url} within {self.timeout}s{hint}") from exc
        except requests.RequestException as exc:
            hint = plain_http_hint(self.url, self.timeout)
            raise errors.TransportError(f"cannot reach {self.url}: {exc}{hint}") from exc
        except zeep.exceptions.Error as exc:
            mapped = operations.zeep_error(exc, self.url)
            if mapped is None:
                raise
            raise mapped from exc


__all__ = ["HighwayClient", "bundled_wsdl_path", "normalize_highway"]
