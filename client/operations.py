"""One definition of each operation's request and answer mapping, shared by both clients.

`HighwayClient` (requests) and `AsyncHighwayClient` (httpx) send what a `Call` says and read the
answer with its `read`; they differ only in how the bytes travel. Faults become the exceptions
of client/errors.py here too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar, cast

import zeep.exceptions
from lxml import etree

from client import errors
from client.fast_reads import FastResult
from client.models import (
    DirectionTravelTime,
    HighwaySummary,
    Observation,
    ReportResult,
    SegmentTravelTime,
)

R = TypeVar("R")
OPERATIONS = ("ListHighways", "GetTravelTimes", "ReportObservations")
_HIGHWAY_WORDS = re.compile(
    r"^\s*(?:highway|hwy|route|interstate|us|i|or|sr)?[\s\-]*([0-9]{1,4}[A-Za-z]?)\s*$",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True)
class Call(Generic[R]):
    """One request: the contract operation, its keyword arguments, and how to read the answer."""

    operation: str
    kwargs: dict[str, Any]
    read: Callable[[Any], R]


def normalize_highway(highway: str | int) -> str:
    """'Highway 192', 'hwy 192', 'I-225' and 192 all become the contract's id ('192')."""
    text = str(highway)
    match = _HIGHWAY_WORDS.match(text)
    return match.group(1).upper() if match else text.strip()


def list_highways() -> Call[list[HighwaySummary]]:
    """ListHighways: every highway of the network."""
    return Call("ListHighways", {}, _read_highways)


def travel_times(highway: str | int, direction: str | None = None
                 ) -> Call[list[DirectionTravelTime]]:
    """GetTravelTimes for a highway, one direction or all."""
    kwargs: dict[str, Any] = {"highway": normalize_highway(highway)}
    if direction is not None:
        kwargs["direction"] = direction.strip().upper()
    return Call("GetTravelTimes", kwargs, _read_travel_times)


def report_observations(observations: Iterable[Observation]) -> Call[ReportResult]:
    """ReportObservations: one atomic, idempotent batch (ValueError for a naive time or none)."""
    items = [
        {
            "sensorId": o.sensor_id,
            "segmentId": o.segment_id,
            "observedAt": require_aware(o.observed_at),
            "speedKph": speed_decimal(o.speed_kph),
        }
        for o in observations
    ]
    if not items:
        raise ValueError("a batch needs at least one observation")
    return Call("ReportObservations", {"observation": items}, read_report)


def speed_decimal(value: Any) -> decimal.Decimal:
    """A speed as the request's xs:decimal: rounded to two decimals."""
    return decimal.Decimal(str(round(float(value), 2)))


def _read_highways(result: Any) -> list[HighwaySummary]:
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


def _read_travel_times(result: Any) -> list[DirectionTravelTime]:
    if isinstance(result, FastResult):
        return list(result.value)
    return [_direction(tt) for tt in (result or [])]


def read_report(result: Any) -> ReportResult:
    """ReportObservations' answer (zeep's object, or the lean path's) -> ReportResult."""
    if isinstance(result, FastResult):  # client/fast_report.py read it already
        return cast(ReportResult, result.value)
    return ReportResult(accepted=int(result.accepted), duplicates=int(result.duplicates))


# Faults -------------------------------------------------------------------------------------

def fault_error(fault: zeep.exceptions.Fault, http_status: int | None) -> errors.ServiceFaultError:
    """The ServiceFaultError subclass for a zeep Fault (code, message, detail, correlation id)."""
    code = strip_soap_prefix(str(fault.code or "Server"))
    detail = _fault_detail(fault.detail)
    cls = errors.fault_class(code)
    return cls(
        str(fault.message or ""),
        code=code,
        http_status=http_status,
        correlation_id=detail.get("correlationId"),
        detail=detail,
    )


def strip_soap_prefix(code: str) -> str:
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


def zeep_error(exc: Exception, url: str) -> errors.HighwayError | None:
    """Our error for a zeep transport/parse exception (not Fault), or None if not one."""
    if isinstance(exc, zeep.exceptions.TransportError):
        return errors.ProtocolError(f"HTTP {exc.status_code} without a SOAP answer from {url}",
                                    http_status=exc.status_code)
    if isinstance(exc, (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError)):
        return errors.ProtocolError(f"unreadable answer from {url}: {exc}")
    return None


# Times and nested types ---------------------------------------------------------------------

def require_aware(moment: dt.datetime) -> dt.datetime:
    """An observation time must say its zone: a naive one would be guessed, and wrong."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"observed_at {moment.isoformat()} has no time zone; use e.g. "
                         "datetime.now(datetime.UTC)")
    return moment


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC)


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
