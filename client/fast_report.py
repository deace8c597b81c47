"""ReportObservations without zeep's generic XSD rendering (client/fast_reads.py does the same
for reads).

zeep renders a 1000-item batch element by element (~100 ms of client CPU here, more than the
server takes to store it). The lean path writes the same request text directly (the values in
zeep's own lexical forms, escaped; one format per observation, time and speed texts cached),
and reads a plain 200 answer validated against the contract. The text can be made ahead of
sending (ReportBody: HighwayClient.prepare_report, the CLI's upload prepares batch i+1 while
batch i is in flight). The client's wsse chain is applied when the batch is sent, exactly as
zeep would apply it: a chain that only adds header blocks (UsernameToken, Timestamp) secures
the envelope without the Body's content, which is then written into the serialised Body (the
same bytes, tested); a signature gets the whole parsed envelope. A value that cannot become
XML (e.g. a control character) sends the batch through zeep instead, so such errors are what
they were; faults go to zeep's reply processing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Iterable
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree
from zeep.wsse import Compose

from client import operations
from client.fast_reads import SOAP_ENV, FastRead
from client.models import TNS, Observation, ReportResult
from client.wsse import TimestampSigner, UsernameTokenSigner

_ENVELOPE = f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}">'
_ENV_OPEN = f"{_ENVELOPE}<soap-env:Body>".encode()
_ENV_CLOSE = b"</soap-env:Body></soap-env:Envelope>"
_OPEN = f'<ns0:ReportObservations xmlns:ns0="{TNS}">'
_CLOSE = "</ns0:ReportObservations>"
# The secured envelope without the Body's content: what the header-only wsse mechanisms see
# (UsernameToken, Timestamp); the content is then written into the serialised Body.
_SKELETON = f"{_ENVELOPE}<soap-env:Body/></soap-env:Envelope>".encode()
_EMPTY_BODY_END = b"<soap-env:Body/></soap-env:Envelope>"
_PROLOG = b"<?xml version='1.0' encoding='utf-8'?>\n"
_CR = {"\r": "&#13;"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                          load_dtd=False)


def xsd_datetime(moment: dt.datetime) -> str:
    """zeep's xs:dateTime text for an aware datetime (microseconds only when set; offset
    zero as Z, any other as +HH:MM)."""
    # Keyed by the offset too: equal instants in two zones are equal datetimes.
    return _xsd_datetime(moment, moment.utcoffset())


@functools.lru_cache(maxsize=4096)
def _xsd_datetime(moment: dt.datetime, offset: dt.timedelta | None) -> str:
    """Cached: a batch's times repeat."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    if not offset:
        return text + "Z"
    sign = "-" if offset < dt.timedelta(0) else "+"
    hours, minutes = divmod(abs(int(offset.total_seconds())) // 60, 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _text(value: Any) -> str:
    """zeep's xs:string text, escaped; a carriage return would be read back as a newline (XML
    end-of-line handling), so it stays the character reference lxml writes for zeep."""
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    text = str(value if value is not None else "")
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return escape(text, _CR)
    return text  # the usual id: four scans are cheaper than escape's replacements


def _decimal(value: Any) -> str:
    """zeep's xs:decimal text."""
    return format(value, "f") if isinstance(value, decimal.Decimal) else str(value)


def request_text(items: list[dict[str, Any]]) -> bytes:
    """The ReportObservations envelope zeep would send for these items (before wsse)."""
    return _ENV_OPEN + items_content(items) + _ENV_CLOSE


def items_content(items: list[dict[str, Any]]) -> bytes:
    """The Body's content for zeep-style items (the dicts of operations.report_observations)."""
    return _write([(_text(i["sensorId"]), _text(i["segmentId"]), xsd_datetime(i["observedAt"]),
                    _decimal(i["speedKph"])) for i in items])


def _write(rows: list[tuple[str, str, str, str]]) -> bytes:
    """The ReportObservations element for (sensor, segment, time, speed) texts, escaped."""
    parts = [f"<ns0:observation><ns0:sensorId>{a}</ns0:sensorId><ns0:segmentId>{b}"
             f"</ns0:segmentId><ns0:observedAt>{c}</ns0:observedAt><ns0:speedKph>{d}"
             "</ns0:speedKph></ns0:observation>" for a, b, c, d in rows]
    return (_OPEN + "".join(parts) + _CLOSE).encode("utf-8")


# Characters XML 1.0 cannot carry (libxml2 refuses them, lxml will not set them as text).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPEED_CACHE_LIMIT = 1 << 16
_speed_texts: dict[Any, str] = {}


def speed_text(value: Any) -> str:
    """The xs:decimal text of an observation's speed as operations.report_observations makes
    it (two decimals), cached: speeds repeat. Zero is not cached (0.0 == -0.0, but their texts
    differ), nor what cannot be a key."""
    try:
        text = _speed_texts.get(value)
    except TypeError:  # unhashable: float() decides what it is
        return _decimal(operations.speed_decimal(value))
    if text is None:
        text = _decimal(operations.speed_decimal(value))
        if value:
            if len(_speed_texts) >= _SPEED_CACHE_LIMIT:
                _speed_texts.clear()
            _speed_texts[value] = text
    return text


def _id_text(value: Any) -> str:
    """zeep's xs:string text of an id, not yet escaped."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value if value is not None else "")


class ReportBody:
    """A ReportObservations request made before it is sent: the Body's content as UTF-8
    bytes, exactly what zeep would write (wsse not applied yet), or None when a value cannot
    be XML; and the observations it was made from (zeep's items are made from them when
    zeep has to send the batch).

    Making one checks what operations.report_observations checks, with its messages
    (ValueError for a naive time, or for no observation at all)."""

    __slots__ = ("content", "observations")

    def __init__(self, observations: Iterable[Observation]) -> None:
        self.observations = list(observations)
        self.content = _content(self.observations)

    def items(self) -> list[dict[str, Any]]:
        """zeep's keyword values for the batch."""
        items: list[dict[str, Any]] = operations.report_observations(
            self.observations).kwargs["observation"]
        return items


def _content(observations: list[Observation]) -> bytes | None:
    """One format per observation with cached time and speed texts; the ids are checked for
    escaping and for characters XML cannot carry once, as one string (they rarely need
    either)."""
    rows: list[tuple[str, str, str, str]] = []
    for o in observations:
        sensor, segment, moment = o.sensor_id, o.segment_id, o.observed_at
        offset = moment.utcoffset() if moment.tzinfo is not None else None
        if offset is None:
            operations.require_aware(moment)  # raises its ValueError
        speed = speed_text(o.speed_kph)
        if type(sensor) is not str:
            sensor = _id_text(sensor)
        if type(segment) is not str:
            segment = _id_text(segment)
        rows.append((sensor, segment, _xsd_datetime(moment, offset), speed))
    if not rows:
        raise ValueError("a batch needs at least one observation")
    ids = "".join([text for row in rows for text in row[:2]])
    if not (ids.isascii() and ids.isprintable()) and _NOT_XML.search(ids):
        return None
    if "&" in ids or "<" in ids or ">" in ids or "\r" in ids:
        rows = [(_text(a), _text(b), c, d) for a, b, c, d in rows]
    return _write(rows)


def report_result(answer: etree._Element) -> ReportResult:
    """ReportObservationsResponse -> ReportResult (the element has been validated)."""
    values = {child.tag: child.text for child in answer}
    return ReportResult(accepted=int(values[f"{{{TNS}}}accepted"] or 0),
                        duplicates=int(values[f"{{{TNS}}}duplicates"] or 0))


def _header_only(wsse: Any) -> bool:
    """True when every mechanism of the chain only adds to the Security header (it neither
    reads nor changes the Body): UsernameToken, Timestamp. A signature signs the Body."""
    mechanisms = wsse.wsse_objects if isinstance(wsse, Compose) else [wsse]
    return all(type(m) in (UsernameTokenSigner, TimestampSigner) for m in mechanisms)


class FastReport(FastRead):
    """ReportObservations, callable like zeep's operation, written and read without zeep.

    `observation=` takes zeep's items (dicts) or a ReportBody made ahead of time. The wsse
    chain is applied when the request is sent (a fresh nonce and Created for every attempt):
    on the envelope without the Body's content when it only adds header blocks (the content
    is then written into the serialised Body: the same bytes, without parsing and
    re-serialising a 1000-item tree), on the whole envelope otherwise."""

    def __init__(self, zeep_client: Any, service: Any, wsdl_path: str) -> None:
        super().__init__(zeep_client, service, "ReportObservations", report_result, wsdl_path)
        self._zeep_operation = service.ReportObservations

    def __call__(self, **kwargs: Any) -> Any:
        """Send the batch (secured by the client's wsse); read a plain 200 answer directly."""
        if set(kwargs) != {"observation"}:
            raise TypeError(f"ReportObservations() got arguments {sorted(kwargs)}")
        batch = kwargs["observation"]
        if isinstance(batch, ReportBody):
            content = batch.content
        else:
            content = items_content(batch)
            try:
                etree.fromstring(_ENV_OPEN + content + _ENV_CLOSE, _PARSER)
            except etree.XMLSyntaxError:
                content = None
        if content is None:  # a value that cannot be XML: zeep says what is wrong
            return self._zeep_operation(
                observation=batch.items() if isinstance(batch, ReportBody) else batch)
        body, headers = self._secured(content)
        return self._finish(self._client.transport.post(self._address, body, headers))

    def _secured(self, content: bytes) -> tuple[bytes, dict[str, str]]:
        """The request's bytes and HTTP headers, the client's wsse applied now."""
        headers = {"SOAPAction": self._action, "Content-Type": "text/xml; charset=utf-8"}
        wsse = self._client.wsse
        if wsse is None:
            return _PROLOG + _ENV_OPEN + content + _ENV_CLOSE, headers
        if _header_only(wsse):
            skeleton, secured_headers = wsse.apply(etree.fromstring(_SKELETON, _PARSER),
                                                   dict(headers))
            text = etree.tostring(skeleton, xml_declaration=True, encoding="utf-8")
            if text.endswith(_EMPTY_BODY_END):
                return (text[:-len(_EMPTY_BODY_END)] + b"<soap-env:Body>" + content
                        + _ENV_CLOSE), secured_headers
        envelope = etree.fromstring(_ENV_OPEN + content + _ENV_CLOSE, _PARSER)
        envelope, headers = wsse.apply(envelope, headers)
        return etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), headers
