"""Reading ListHighways and GetTravelTimes answers straight into the client's models.

zeep's generic XSD rendering and decoding cost several times the rest of a call (measured by
bench/client_cost.py). For these two small operations the request envelope is built directly
(then secured by the client's own wsse chain, exactly as zeep would apply it), and for a plain
200 answer the Body is validated against the contract's own schema (as strict as zeep's strict
mode) and read with lxml. Anything else (a fault, another status, a DOCTYPE, an answer that
does not validate) goes to zeep's reply processing unchanged, so errors are what they were.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from lxml import etree

from client.compat import service_address
from client.models import TNS, DirectionTravelTime, HighwaySummary, SegmentTravelTime

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_BODY = f"{{{SOAP_ENV}}}Body"
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
# The read operations' parameters, in the contract's sequence order.
PARAMETERS: dict[str, tuple[str, ...]] = {
    "ListHighways": (),
    "GetTravelTimes": ("highway", "direction"),
    "ReportObservations": ("observation",),  # client/fast_report.py writes its own request
}
XS = "http://www.w3.org/2001/XMLSchema"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          load_dtd=False, remove_comments=True, remove_pis=True)
Reader = Callable[[etree._Element], Any]


@dataclasses.dataclass(frozen=True)
class FastResult:
    """Models read by the lean path (zeep's path returns zeep objects instead)."""

    value: Any


@functools.cache
def _schema(wsdl_path: str) -> etree.XMLSchema:
    """The contract's types, compiled once per process."""
    root = etree.parse(wsdl_path, _PARSER).getroot()
    schema = root.find(f".//{{{XS}}}schema")
    if schema is None:
        raise ValueError(f"{wsdl_path} has no xs:schema")
    # Serialise and re-parse so the prefixes declared on wsdl:definitions come along.
    return etree.XMLSchema(etree.fromstring(etree.tostring(schema), _PARSER))


def _t(name: str) -> str:
    return f"{{{TNS}}}{name}"


_NS_LEN = len(_t(""))
_SEGMENT = _t("segment")


def _when(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    moment = dt.datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _fields(e: etree._Element) -> dict[str, str | None]:
    """Child local names -> text; the schema allows each simple field at most once."""
    return {child.tag[_NS_LEN:]: child.text for child in e if isinstance(child.tag, str)}


def _segment(e: etree._Element) -> SegmentTravelTime:
    # The schema's xs:sequence fixes the order, so (validated) values are read by position;
    # only observedAt (the 9th of 10) may be absent. ~3x cheaper than reading names.
    v = [child.text for child in e]
    observed = v[8] if len(v) == 10 else None
    return SegmentTravelTime(
        segment_id=v[0] or "",
        from_name=v[1] or "",
        to_name=v[2] or "",
        length_km=float(v[3] or "nan"),
        speed_kph=float(v[4] or "nan"),
        current_minutes=float(v[5] or "nan"),
        free_flow_minutes=float(v[6] or "nan"),
        congestion=v[7] or "",
        observed_at=_when(observed),
        stale=(v[-1] or "").strip() in ("true", "1"),
    )


def travel_times(answer: etree._Element) -> list[DirectionTravelTime]:
    """GetTravelTimesResponse -> models (the element has been validated)."""
    result = []
    for tt in answer.iterchildren(_t("travelTime")):
        f = _fields(tt)  # "segment" repeats: read those from the element itself
        as_of = _when(f["asOf"])
        assert as_of is not None  # required by the schema
        result.append(DirectionTravelTime(
            highway=f["highway"] or "",
            direction=f["direction"] or "",
            as_of=as_of,
            total_minutes=float(f["totalMinutes"] or "nan"),
            free_flow_minutes=float(f["freeFlowMinutes"] or "nan"),
            segments=tuple(_segment(s) for s in tt.iterchildren(_SEGMENT)),
        ))
    return result


def highways(answer: etree._Element) -> list[HighwaySummary]:
    """ListHighwaysResponse -> models (the element has been validated)."""
    result = []
    for h in answer.iterchildren(_t("highway")):
        f = _fields(h)  # "direction" repeats: read those from the element itself
        result.append(HighwaySummary(
            id=f["id"] or "",
            name=f["name"] or "",
            directions=tuple(d.text or "" for d in h.iterchildren(_t("direction"))),
            length_km=float(f["lengthKm"] or "nan"),
            segment_count=int(f["segmentCount"] or "0"),
        ))
    return result


class FastRead:
    """Callable like a zeep operation (same name, same kwargs) that reads plain answers itself."""

    def __init__(self, zeep_client: Any, service: Any, name: str, reader: Reader,
                 wsdl_path: str) -> None:
        self._op_name = name  # what the retry policy logs, as for zeep's operations
        self._client = zeep_client
        self._service = service
        self._reader = reader
        self._answer_tag = _t(f"{name}Response")
        self._schema = _schema(wsdl_path)
        self._parameters = PARAMETERS[name]
        self._address = service_address(service)
        self._action = f'"{TNS}/{name}"'  # the binding's soapAction, quoted as zeep sends it

    def _request(self, kwargs: dict[str, Any]) -> etree._Element:
        """The envelope zeep would build: the request element, parameters in contract order.

        Building it directly skips zeep's generic XSD rendering (~40% of a call's client CPU);
        the server validates the values against the same schema either way.
        """
        unknown = set(kwargs) - set(self._parameters)
        if unknown:
            raise TypeError(f"{self._op_name}() got unexpected arguments {sorted(unknown)}")
        envelope = etree.Element(_ENVELOPE, nsmap={"soap-env": SOAP_ENV})
        body = etree.SubElement(envelope, SOAP_BODY)
        request = etree.SubElement(body, _t(self._op_name), nsmap={"ns0": TNS})
        for name in self._parameters:
            if kwargs.get(name) is not None:
                etree.SubElement(request, _t(name)).text = str(kwargs[name])
        return envelope

    def _prepare(self, kwargs: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The request body and HTTP headers, secured by the client's wsse chain."""
        envelope = self._request(kwargs)
        headers = {"SOAPAction": self._action, "Content-Type": "text/xml; charset=utf-8"}
        if self._client.wsse is not None:
            envelope, headers = self._client.wsse.apply(envelope, headers)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), headers

    def _finish(self, response: Any) -> Any:
        """A plain 200 answer read directly; anything else through zeep's reply processing."""
        if response.status_code == 200:
            answer = self._plain_answer(response.content)
            if answer is not None:
                return FastResult(self._reader(answer))
        binding = self._service._binding  # noqa: SLF001 - zeep 4.3's binding API, pinned
        return binding.process_reply(self._client, binding.get(self._op_name), response)

    def __call__(self, **kwargs: Any) -> Any:
        """Send the request (secured by the client's wsse), read a plain 200 answer directly."""
        body, headers = self._prepare(kwargs)
        return self._finish(self._client.transport.post(self._address, body, headers))

    def _plain_answer(self, content: bytes) -> etree._Element | None:
        """The validated answer element, or None for anything zeep should look at."""
        try:
            root = etree.fromstring(content, _PARSER)
        except etree.XMLSyntaxError:
            return None
        if root.getroottree().docinfo.doctype:
            return None  # zeep's forbid_entities / forbid_dtd checks decide about these
        body = root.find(SOAP_BODY)
        if body is None or len(body) != 1 or body[0].tag != self._answer_tag:
            return None
        if self._client.wsse is not None:
            self._client.wsse.verify(root)
        answer = body[0]
        return answer if self._schema.validate(answer) else None


class AsyncFastRead(FastRead):
    """FastRead for zeep's async transport: the same request and reading, awaited."""

    async def __call__(self, **kwargs: Any) -> Any:
        """Send the request and read a plain 200 answer directly, without blocking the loop."""
        body, headers = self._prepare(kwargs)
        transport = self._client.transport
        response = await transport.post(self._address, body, headers)
        return self._finish(transport.new_response(response))
