"""Driving Spyne in the reactor thread: schema validation and dispatch, then the operation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from lxml import etree
from spyne import Application, MethodContext
from spyne.const.xml import NS_SOAP11_ENV
from spyne.context import TransportContext
from spyne.error import ResourceNotFoundError
from spyne.model.fault import Fault
from spyne.server import ServerBase

from soap_service import domain, faults
from soap_service.compat import spyne as spyne_compat
from soap_service.contract.contract import schema_element
from soap_service.contract.names import (
    CONTRACT_NAMESPACE,
    GET_TRAVEL_TIMES,
    LIST_HIGHWAYS,
    REPORT_OBSERVATIONS,
)
from soap_service.core.exchange import Exchange
from soap_service.core.stage_timing import NO_LAPS, OPERATION, SERIALIZATION, STORE
from soap_service.faults import ServiceFault, truncate_fragment
from soap_service.soap.direct_read import NotWritable, TravelTimesAnswer
from soap_service.soap.direct_report import NotDirect, ReportAnswer, bind_observations
from soap_service.soap.lexical import datetime_element_names, normalize_datetimes
from soap_service.soap.response_cache import CACHEABLE_OPERATIONS, Key, ResponseCache
from soap_service.soap.service import OPERATIONS

TNS = CONTRACT_NAMESPACE
log = logging.getLogger("highway.soap")
# Elements whose schema-valid text Spyne may not parse (24:00:00, whitespace): lexical.py.
_DATETIME_NAMES = datetime_element_names(schema_element())
_REQUEST_TAGS = {f"{{{TNS}}}{name}": name for name in OPERATIONS}
_BODY_TAG = f"{{{NS_SOAP11_ENV}}}Body"
# Parameters of the cacheable operations, in signature order (as Spyne passes them).
_PARAMETERS: dict[str, tuple[str, ...]] = {
    LIST_HIGHWAYS: (),
    GET_TRAVEL_TIMES: (f"{{{TNS}}}highway", f"{{{TNS}}}direction"),
}
assert set(_PARAMETERS) == CACHEABLE_OPERATIONS


# One answer for the direct GetTravelTimes writer to check itself against Spyne at start.
_SAMPLE_ANSWER = domain.DirectionTravelTime(
    "1", domain.Direction.NB, dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC), 12.34, 10.0,
    (domain.SegmentTravelTime(
        domain.Segment("1-NB-01", "1", domain.Direction.NB, 1, "A & <B>", "C\u00e9", 1.5, 90.0),
        45.5, 2.0, 1.0, domain.Congestion.HEAVY,
        dt.datetime(2026, 1, 2, 3, 4, 0, 250000, tzinfo=dt.UTC), False),))


class _Transport(TransportContext):
    """Carries the parsed envelope into HighwaySoap11.create_in_document."""

    def __init__(self, parent: Any, server: ServerBase, envelope: Any) -> None:
        super().__init__(parent, server, type="highway")
        self.envelope = envelope


@dataclasses.dataclass
class Prepared:
    """A validated, dispatched request waiting for its operation to run.

    A valid read request skips Spyne's deserialization (`ctx` None) and carries its cache
    key; Spyne's context is then only built if the cache cannot answer.
    """

    ctx: Any
    key: Key | None = None
    request: Any = None  # the validated request element, for the direct ReportObservations


class SpyneRunner:
    """Runs Spyne's server API step by step, turning its errors into ServiceFaults."""

    def __init__(
        self,
        app: Application,
        *,
        load: Callable[[Any], Awaitable[None]],
        cache: ResponseCache | None = None,
        report: Callable[[list[domain.Observation]], Awaitable[domain.ReportResult]] | None = None,
        travel_times: Callable[[str, str | None],
                               Awaitable[list[domain.DirectionTravelTime]]] | None = None,
    ) -> None:
        self._server = ServerBase(app)
        self._app = app
        # Awaits the operation's database work (soap/service.py OperationLoader) off the
        # reactor thread before Spyne's synchronous call.
        self._load = load
        self.cache = cache
        # The very schema Spyne validates Bodies with (HighwaySoap11 installs the contract's).
        self._schema = app.in_protocol.validation_schema
        # ReportObservations without Spyne's object binding (soap/direct_report.py): `report`
        # stores a batch (soap/service.py report_batch); the answer is Spyne's own bytes.
        self._report = report
        self._report_answer = ReportAnswer(self._render_report) if report is not None else None
        # GetTravelTimes answers written without Spyne's serialization (soap/direct_read.py):
        # `travel_times(highway, direction)` is soap/service.py travel_times on the store.
        self._travel_times = travel_times
        self._travel_answer: TravelTimesAnswer | None = None
        if travel_times is not None:
            try:
                self._travel_answer = TravelTimesAnswer(self._render_travel_times, _SAMPLE_ANSWER)
            except ValueError as exc:  # another Spyne writes differently: its path serves
                log.warning("direct GetTravelTimes writer disabled: %s", exc)

    def prepare(self, exchange: Exchange) -> Prepared:
        """Validate the Body against the contract, find the operation (exchange.operation)."""
        envelope = exchange.envelope
        body = _body_of(envelope) if envelope is not None else None
        child = body[0] if body is not None and len(body) else None
        if child is None or child.tag not in _REQUEST_TAGS:
            raise ServiceFault(
                faults.CLIENT_UNKNOWN_OPERATION,
                "The Body does not contain a request this service offers.",
            )
        operation = exchange.operation = _REQUEST_TAGS[child.tag]
        valid = self._schema.validate(child)
        if valid:
            # Only the dateTime elements (lxml filters by tag in C).
            normalize_datetimes(child.iter(*_DATETIME_NAMES), _DATETIME_NAMES)
        if valid and (self.cache is None or operation not in _PARAMETERS):
            # Authenticate before expensive work: a valid Body is bound to objects only in
            # run(), after WS-Security and authorization, so a refused 1000-item batch costs
            # a parse and a schema check, not Spyne's deserialization.
            return Prepared(None, request=child)
        if valid and self.cache is not None and operation in _PARAMETERS:
            # Valid against the same schema Spyne uses; an invalid Body takes Spyne's path
            # below so its fault is exactly Spyne's. element.text is what Spyne reads too.
            # The schema allows each parameter at most once, so a dict of the children is exact
            # (and cheaper than one ElementPath find per parameter).
            given = {element.tag: element.text for element in child}
            args = tuple(given.get(tag) for tag in _PARAMETERS[operation])
            return Prepared(None, (operation, args))
        return Prepared(self._spyne_prepare(envelope))

    def _spyne_prepare(self, envelope: Any) -> Any:
        """Spyne's schema validation, dispatch and deserialization; the method context."""
        ctx = MethodContext(self._server, MethodContext.SERVER)
        ctx.transport = _Transport(ctx, self._server, envelope)
        contexts = self._server.generate_contexts(ctx)
        ctx = contexts[0]
        if ctx.in_error is not None:
            raise _fault_from_spyne(ctx.in_error)
        self._server.get_in_object(ctx)
        if ctx.in_error is not None:
            raise _fault_from_spyne(ctx.in_error)
        return ctx

    async def run(self, exchange: Exchange, prepared: Prepared) -> bytes:
        """Call the operation and serialize its response; ServiceFault passes through."""
        cache, key = self.cache, prepared.key
        if (self._report is not None and prepared.request is not None
                and exchange.operation == REPORT_OBSERVATIONS):
            try:
                batch = bind_observations(prepared.request)
            except NotDirect:
                pass  # not reachable for a schema-valid Body; Spyne's path decides
            else:
                assert self._report_answer is not None
                laps = exchange.timing or NO_LAPS
                laps.lap(OPERATION)
                result = await self._report(batch)
                laps.lap(STORE)
                body = self._report_answer.render(result)
                laps.lap(SERIALIZATION)
                return body

        read_key = key  # (a local: mypy narrows it inside the closure)

        async def build() -> bytes:
            laps = exchange.timing or NO_LAPS
            if (self._travel_times is not None and self._travel_answer is not None
                    and read_key is not None and read_key[0] == GET_TRAVEL_TIMES
                    and prepared.ctx is None):
                highway, direction = read_key[1]
                assert highway is not None  # the schema requires it
                laps.lap(OPERATION)
                result = await self._travel_times(highway, direction)
                laps.lap(STORE)
                try:
                    body = self._travel_answer.render(result)
                except NotWritable:
                    body = self._render_travel_times(result)  # Spyne says what it makes of it
                laps.lap(SERIALIZATION)
                return body
            ctx = prepared.ctx or self._spyne_prepare(exchange.envelope)
            laps.lap(OPERATION)
            await self._load(ctx)
            laps.lap(STORE)
            out = spyne_compat.call(self._app, ctx)
            laps.lap(OPERATION)
            body = spyne_compat.serialize(self._server, ctx, out)
            laps.lap(SERIALIZATION)
            return body

        if cache is None or key is None:
            return await build()

        body, how = await cache.answer(key, build)
        if how != "miss":
            exchange.notes["cache"] = how
        return body

    def _render_report(self, accepted: int, duplicates: int) -> bytes:
        """Spyne's serialization of a ReportObservationsResponse (the direct path's template)."""
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        request = etree.fromstring(
            f'<s:Envelope xmlns:s="{NS_SOAP11_ENV}" xmlns:t="{TNS}"><s:Body>'
            "<t:ReportObservations><t:observation><t:sensorId>s</t:sensorId>"
            f"<t:segmentId>x</t:segmentId><t:observedAt>{now}</t:observedAt>"
            "<t:speedKph>1</t:speedKph></t:observation></t:ReportObservations>"
            "</s:Body></s:Envelope>")
        return spyne_compat.serialize(self._server, self._spyne_prepare(request),
                                      [accepted, duplicates])

    def _render_travel_times(self, result: list[domain.DirectionTravelTime]) -> bytes:
        """Spyne's serialization of a GetTravelTimesResponse (the direct path's reference)."""
        request = etree.fromstring(
            f'<s:Envelope xmlns:s="{NS_SOAP11_ENV}" xmlns:t="{TNS}"><s:Body>'
            "<t:GetTravelTimes><t:highway>1</t:highway></t:GetTravelTimes>"
            "</s:Body></s:Envelope>")
        ctx = self._spyne_prepare(request)
        ctx.udc = result
        return self._build(ctx)

    def _build(self, ctx: Any) -> bytes:
        """Run the operation and let Spyne serialize its answer (the expensive part)."""
        # Spyne's process_request, minus its catch-all: our faults and bugs go to the pipeline.
        return spyne_compat.call_and_serialize(self._app, self._server, ctx)


def _body_of(envelope: Any) -> Any:
    """The envelope's soap:Body (a loop over its few children beats ElementPath's find)."""
    for element in envelope:
        if element.tag == _BODY_TAG:
            return element
    return None


def _fault_from_spyne(error: Exception) -> ServiceFault:
    """Map Spyne's in-protocol errors onto our stable codes."""
    if isinstance(error, ServiceFault):
        return error
    if isinstance(error, ResourceNotFoundError):
        return ServiceFault(
            faults.CLIENT_UNKNOWN_OPERATION,
            "The Body does not contain a request this service offers.",
        )
    if isinstance(error, Fault):
        code = str(error.faultcode or "")
        raw = error.faultstring or ""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        if code.endswith("SchemaValidationError"):
            return ServiceFault(faults.CLIENT_SCHEMA, _schema_message(text))
        if code.startswith("Client"):
            return ServiceFault(
                faults.CLIENT, "The request is not valid: " + truncate_fragment(text, 160)
            )
    return ServiceFault(faults.SERVER, "The service could not process the request.",
                        reason=f"spyne: {error!r}"[:300])


def _schema_message(lxml_error: str) -> str:
    """'Schema validation failed: <which element and why>' without echoing much input."""
    # lxml says e.g. "<string>:1:0:ERROR:SCHEMASV:SCHEMAV_CVC_PATTERN_VALID: Element
    # '{urn:...}highway': [facet 'pattern'] The value 'X' is not accepted by the pattern ...".
    text = lxml_error.split(": ", 1)[1] if ": Element" in lxml_error else lxml_error
    text = text.replace("{" + TNS + "}", "")
    return "Schema validation failed: " + truncate_fragment(text, 200)
