"""The Spyne service: the three operations, each a thin call into the store.

Spyne calls operations synchronously, and no database I/O may run on the reactor thread, so
the store is awaited first (`OperationLoader`, called by the runner between dispatch and the
operation) and the operation only turns that result, left in `ctx.udc`, into the answer.
"""

from __future__ import annotations

from typing import Any

from spyne import Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11

from soap_service import domain, faults
from soap_service.contract.names import OPERATIONS as CONTRACT_OPERATIONS
from soap_service.faults import ServiceFault
from soap_service.soap import types as t
from soap_service.store.traffic_store import (
    InvalidObservation,
    TrafficStore,
    UnknownDirection,
    UnknownHighway,
)

OPERATIONS = CONTRACT_OPERATIONS  # each is a method of the service below, by that name


def _round(value: float) -> float:
    return round(value, 2)


def _segment_out(state: domain.SegmentTravelTime) -> t.SegmentTravelTime:
    seg = state.segment
    return t.SegmentTravelTime(
        segmentId=seg.id,
        fromName=seg.from_name,
        toName=seg.to_name,
        lengthKm=_round(seg.length_km),
        speedKph=_round(state.speed_kph),
        currentMinutes=_round(state.current_minutes),
        freeFlowMinutes=_round(state.free_flow_minutes),
        congestion=state.congestion.value,
        observedAt=state.observed_at,
        stale=state.stale,
    )


def _direction_out(tt: domain.DirectionTravelTime) -> t.DirectionTravelTime:
    return t.DirectionTravelTime(
        highway=tt.highway_id,
        direction=tt.direction.value,
        asOf=tt.as_of.replace(microsecond=0),
        totalMinutes=_round(tt.total_minutes),
        freeFlowMinutes=_round(tt.free_flow_minutes),
        segment=[_segment_out(s) for s in tt.segments],
    )


def build_service(store: TrafficStore) -> type[ServiceBase]:
    """The ServiceBase subclass bound to one store."""

    class HighwayTrafficService(ServiceBase):
        """Highway travel times and sensor observations."""

        @rpc(
            _returns=t.HighwaySummary.customize(
                min_occurs=0, max_occurs=t.MAX_HIGHWAYS, nillable=False),
            _out_variable_name="highway",
        )
        def ListHighways(ctx: Any) -> Any:  # noqa: N802 - SOAP operation name
            """Every highway in the network with its directions, length and segment count."""
            return [
                t.HighwaySummary(
                    id=hw.id,
                    name=hw.name,
                    direction=[d.value for d in hw.directions],
                    lengthKm=_round(hw.length_km),
                    segmentCount=hw.segment_count,
                )
                for hw in store.highways()
            ]

        @rpc(
            t.HighwayId.customize(min_occurs=1, nillable=False),
            t.DirectionCode.customize(min_occurs=0, nillable=False),
            _returns=t.DirectionTravelTime.customize(min_occurs=0, max_occurs=4, nillable=False),
            _out_variable_name="travelTime",
        )
        def GetTravelTimes(ctx: Any, highway: str, direction: str | None) -> Any:  # noqa: N802
            """Current travel times for one direction, or every direction, of a highway."""
            result: list[domain.DirectionTravelTime] = ctx.udc  # awaited by OperationLoader
            return [_direction_out(tt) for tt in result]

        @rpc(
            t.Observation.customize(min_occurs=1, max_occurs=1000, nillable=False),
            _returns=(t.Count.customize(min_occurs=1, nillable=False),
                      t.Count.customize(min_occurs=1, nillable=False)),
            _out_variable_names=("accepted", "duplicates"),
        )
        def ReportObservations(ctx: Any, observation: list[Any]) -> Any:  # noqa: N802
            """Store a batch of observations atomically; idempotent on (sensorId, observedAt)."""
            result: domain.ReportResult = ctx.udc  # stored by OperationLoader
            return result.accepted, result.duplicates

    return HighwayTrafficService


class OperationLoader:
    """The database work of each operation, awaited before Spyne runs the operation."""

    def __init__(self, store: TrafficStore) -> None:
        self._store = store

    async def __call__(self, ctx: Any) -> None:
        """Set ctx.udc to what the operation `ctx.descriptor` needs, or raise ServiceFault."""
        name = ctx.descriptor.name
        args = ctx.in_object
        if name == "GetTravelTimes":
            ctx.udc = await travel_times(self._store, args[0], args[1])
        elif name == "ReportObservations":
            batch = [
                domain.Observation(o.sensorId, o.segmentId, o.observedAt, float(o.speedKph))
                for o in args[0]
            ]
            ctx.udc = await report_batch(self._store, batch)


async def travel_times(store: TrafficStore, highway: str,
                       direction: str | None) -> list[domain.DirectionTravelTime]:
    """GetTravelTimes' data; an unknown highway or direction becomes its fault (the same on
    every serialization path)."""
    try:
        return await store.travel_times(
            highway, domain.Direction(str(direction)) if direction is not None else None)
    except UnknownHighway:
        raise ServiceFault(faults.CLIENT_UNKNOWN_HIGHWAY, f"Unknown highway '{highway}'.") from None
    except UnknownDirection:
        raise ServiceFault(
            faults.CLIENT_UNKNOWN_DIRECTION, f"Highway '{highway}' has no direction {direction}.",
        ) from None


async def report_batch(store: TrafficStore, batch: list[domain.Observation]) -> domain.ReportResult:
    """Store one batch; a refused item becomes its fault (the same on every binding path)."""
    try:
        return await store.report(batch)
    except InvalidObservation as exc:
        code = (
            faults.CLIENT_UNKNOWN_SEGMENT
            if exc.kind == "unknown-segment"
            else faults.CLIENT_VALUE_OUT_OF_RANGE
        )
        raise ServiceFault(
            code, f"{exc} (batch refused, nothing stored)",
            detail={"observationIndex": str(exc.index)},
        ) from None


def build_application(store: TrafficStore) -> Application:
    """The Spyne application: document/literal wrapped SOAP 1.1 in our namespace."""
    from soap_service.soap.protocol import HighwaySoap11

    return Application(
        [build_service(store)],
        tns=t.NS,
        name="HighwayTraffic",
        in_protocol=HighwaySoap11(validator="lxml"),
        out_protocol=Soap11(),
    )
