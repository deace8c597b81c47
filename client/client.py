"""HighwayClient: typed calls to the highway-traffic service over zeep."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import os
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any, TypeVar

import requests
import zeep
import zeep.exceptions
from lxml import etree

from client import errors, fast_reads
from client.direct_http import DirectPoster, usable_for
from client.fast_reads import FastRead, FastResult
from client.models import (
    DirectionTravelTime,
    HighwaySummary,
    Observation,
    ReportResult,
    SegmentTravelTime,
)
from client.retry import RateLimitInfo, RetryPolicy, call_with_retry
from client.tls_session import configure_tls
from client.transport import HighwayTransport
from client.wsse import build_wsse

TNS = "urn:highway-traffic:v1"
BINDING = f"{{{TNS}}}HighwayTrafficSoapBinding"
WSDL_FILE = "highway-traffic.wsdl"
_HIGHWAY_WORDS = re.compile(
    r"^\s*(?:highway|hwy|route|interstate|us|i|or|sr)?[\s\-]*([0-9]{1,4}[A-Za-z]?)\s*$",
    re.IGNORECASE,
)
T = TypeVar("T")
DEFAULT_RETRY = RetryPolicy()


@functools.cache
def bundled_wsdl_path() -> str:
    """Filesystem path of the contract shipped inside this package."""
    return str(resources.files(__package__).joinpath("contract", WSDL_FILE))


def normalize_highway(highway: str | int) -> str:
    """'Highway 192', 'hwy 192', 'I-225' and 192 all become the contract's id ('192')."""
    text = str(highway)
    match = _HIGHWAY_WORDS.match(text)
    return match.group(1).upper() if match else text.strip()


class HighwayClient:
    """A client for one highway-traffic endpoint. Thread-safe for calls; reuse one instance.

    The contract is loaded from the copy bundled with this package (no WSDL fetch), and every
    call has a timeout.
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
        cert: str | None = None,
        key: str | None = None,
        tls_client_cert: str | None = None,
        tls_client_key: str | None = None,
        ca: str | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        # Explicit arguments win; otherwise the same variables the CLI reads.
        url = url or os.environ.get("HIGHWAY_URL")
        if not url:
            raise ValueError("url= is required (or set HIGHWAY_URL)")
        if username is None:
            username = os.environ.get("HIGHWAY_USERNAME") or None
        if username is not None and password is None:
            password = os.environ.get("HIGHWAY_PASSWORD") or None
        self.url = url
        self.timeout = timeout
        self.username = username
        self.retry = retry  # 429/503: honour Retry-After, bounded and jittered (NO_RETRY: off)
        self._session = session or requests.Session()
        # WS-Security (UsernameToken, X.509 signature) and mutual TLS: see client/wsse.py.
        wsse = build_wsse(username=username, password=password, digest=digest, cert=cert, key=key)
        configure_tls(self._session, client_cert=tls_client_cert, client_key=tls_client_key, ca=ca)
        # Our own session on a plain-HTTP, unproxied URL: post without requests' per-call cost
        # (client/direct_http.py). A caller's session may carry adapters or hooks: keep it.
        direct = DirectPoster(url, timeout) if session is None and usable_for(url) else None
        self._transport = HighwayTransport(timeout=timeout, session=self._session, direct=direct)
        settings = zeep.Settings(strict=True, xml_huge_tree=False, forbid_entities=True)
        self._zeep = zeep.Client(
            bundled_wsdl_path(),
            transport=self._transport,
            settings=settings,
            plugins=list(plugins),
            wsse=wsse,
        )
        self._service = self._zeep.create_service(BINDING, url)
        # Plain read answers are read straight into models (client/fast_reads.py); plugins
        # must see every answer, so with plugins zeep does all of the work.
        self._list_op: Any = self._service.ListHighways
        self._travel_op: Any = self._service.GetTravelTimes
        if not self._zeep.plugins:
            wsdl = bundled_wsdl_path()
            self._list_op = FastRead(self._zeep, self._service, "ListHighways",
                                     fast_reads.highways, wsdl)
            self._travel_op = FastRead(self._zeep, self._service, "GetTravelTimes",
                                       fast_reads.travel_times, wsdl)

    @classmethod
    def from_env(cls, **kwargs: Any) -> HighwayClient:
        """A client configured from HIGHWAY_URL, HIGHWAY_USERNAME and HIGHWAY_PASSWORD."""
        return cls(**kwargs)

    def __repr__(self) -> str:
        user = f", username={self.username!r}, password='***'" if self.username else ""
        return f"HighwayClient(url={self.url!r}, timeout={self.timeout!r}{user})"

    def close(self) -> None:
        """Close pooled HTTP connections."""
        self._session.close()
        self._transport.close_direct()

    def __enter__(self) -> HighwayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Operations ---------------------------------------------------------------------------

    def list_highways(self) -> list[HighwaySummary]:
        """Every highway of the network."""
        result = self._call(self._list_op)
        if isinstance(result, FastResult):
            return list(result.value)
        return [
            HighwaySummary(
                id=str(h.id),
                name=str(h.name),
                directions=tuple(str(d) for d in h.direction),
                length_km=float(h.lengthKm),
                segment_count=int(h.segmentCount),
            )
            for h in (result or [])
        ]

    def travel_times(
        self, highway: str | int, direction: str | None = None
    ) -> list[DirectionTravelTime]:
        """Current travel times for a highway, one direction or all; 'Highway 192' is fine."""
        kwargs: dict[str, Any] = {"highway": normalize_highway(highway)}
        if direction is not None:
            kwargs["direction"] = direction.strip().upper()
        result = self._call(self._travel_op, **kwargs)
        if isinstance(result, FastResult):
            return list(result.value)
        return [_direction(tt) for tt in (result or [])]

    def report_observations(self, observations: Iterable[Observation]) -> ReportResult:
        """Report up to 1000 observations as one atomic, idempotent batch."""
        items = [
            {
                "sensorId": o.sensor_id,
                "segmentId": o.segment_id,
                "observedAt": _require_aware(o.observed_at),
                "speedKph": decimal.Decimal(str(round(float(o.speed_kph), 2))),
            }
            for o in observations
        ]
        if not items:
            raise ValueError("a batch needs at least one observation")
        result = self._call(self._service.ReportObservations, observation=items)
        return ReportResult(accepted=int(result.accepted), duplicates=int(result.duplicates))

    # Boundary: zeep and requests errors become ours ----------------------------------------

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The quota advertised on this thread's last answer (RateLimit-* headers), if any."""
        return RateLimitInfo.from_headers(self._transport.last_headers)

    def _call(self, operation: Callable[..., T], **kwargs: Any) -> T:
        name = str(getattr(operation, "_op_name", ""))
        return call_with_retry(self.retry, name, lambda: self._call_once(operation, **kwargs))

    def _call_once(self, operation: Callable[..., T], **kwargs: Any) -> T:
        try:
            return operation(**kwargs)
        except zeep.exceptions.Fault as exc:
            raise self._fault_error(exc) from exc
        except requests.Timeout as exc:
            raise errors.TimeoutError(f"no answer from {self.url} within {self.timeout}s") from exc
        except requests.RequestException as exc:
            raise errors.TransportError(f"cannot reach {self.url}: {exc}") from exc
        except zeep.exceptions.TransportError as exc:
            raise errors.ProtocolError(
                f"HTTP {exc.status_code} without a SOAP answer from {self.url}",
                http_status=exc.status_code,
            ) from exc
        except (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError) as exc:
            raise errors.ProtocolError(f"unreadable answer from {self.url}: {exc}") from exc

    def _fault_error(self, fault: zeep.exceptions.Fault) -> errors.ServiceFaultError:
        code = _strip_soap_prefix(str(fault.code or "Server"))
        detail = _fault_detail(fault.detail)
        cls = errors.fault_class(code)
        return cls(
            str(fault.message or ""),
            code=code,
            http_status=self._transport.last_status,
            correlation_id=detail.get("correlationId"),
            detail=detail,
        )


def _strip_soap_prefix(code: str) -> str:
    """'soap:Client.X' -> 'Client.X'; WS-Security codes keep their wsse: prefix."""
    prefix, sep, rest = code.partition(":")
    if not sep:
        return code
    if prefix.lower() in ("soap", "soapenv", "soap11env", "s", "env", "senv"):
        return rest
    if rest in ("InvalidSecurity", "InvalidSecurityToken", "FailedAuthentication", "FailedCheck",
                "MessageExpired", "UnsupportedSecurityToken", "UnsupportedAlgorithm",
                "SecurityTokenUnavailable"):
        return f"wsse:{rest}"
    return rest


def _fault_detail(detail: Any) -> dict[str, str]:
    if detail is None:
        return {}
    result: dict[str, str] = {}
    for element in detail.iter():
        if not isinstance(element.tag, str) or element is detail:
            continue
        if len(element) == 0 and element.text is not None:
            result[etree.QName(element).localname] = element.text.strip()
    return result


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _require_aware(moment: dt.datetime) -> dt.datetime:
    """An observation time must say its zone: a naive one would be guessed, and wrong."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"observed_at {moment.isoformat()} has no time zone; use e.g. "
                         "datetime.now(datetime.UTC)")
    return moment


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return _aware(moment).astimezone(dt.UTC)


def _segment(s: Any) -> SegmentTravelTime:
    return SegmentTravelTime(
        segment_id=str(s.segmentId),
        from_name=str(s.fromName),
        to_name=str(s.toName),
        length_km=float(s.lengthKm),
        speed_kph=float(s.speedKph),
        current_minutes=float(s.currentMinutes),
        free_flow_minutes=float(s.freeFlowMinutes),
        congestion=str(s.congestion),
        observed_at=_utc(s.observedAt),
        stale=bool(s.stale),
    )


def _direction(tt: Any) -> DirectionTravelTime:
    as_of = _utc(tt.asOf)
    assert as_of is not None
    return DirectionTravelTime(
        highway=str(tt.highway),
        direction=str(tt.direction),
        as_of=as_of,
        total_minutes=float(tt.totalMinutes),
        free_flow_minutes=float(tt.freeFlowMinutes),
        segments=tuple(_segment(s) for s in tt.segment),
    )


__all__ = ["HighwayClient", "bundled_wsdl_path", "normalize_highway"]
