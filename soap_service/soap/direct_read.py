"""GetTravelTimesResponse written without Spyne's object serialization (the second fast path).

Why: on a cache miss, Spyne's serialization of one highway's answer (~14,000 model lookups for
two directions of a few segments) is ~65 % of the read, ~1.1 ms of the ~1.6 ms a miss adds
to a cached read; writing the same bytes directly takes ~0.1 ms. The values are exactly
those soap/service.py gives Spyne (`_direction_out`: rounded to two decimals, asOf to the
second) and each is formatted as Spyne formats its type (Double: repr; DateTime: isoformat;
Boolean: true/false; text escaped as lxml escapes it). The envelope around the answers is
Spyne's own, cut from one answer Spyne rendered at start. `tests/soap/test_direct_read.py`
compares the bytes with Spyne's on generated answers (names with markup, quotes, non-ASCII,
control-free Unicode; every congestion level; with and without observedAt).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from soap_service import domain

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
# Characters XML 1.0 cannot hold: lxml (so Spyne) refuses them, and so does this writer.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_SEGMENT_HEADS = 65_536  # segment texts kept (a network has a few thousand segments)


class NotWritable(ValueError):
    """A value this writer cannot put in XML; the caller uses Spyne's path (which decides)."""


def _text(value: str) -> str:
    """Element text as lxml writes it."""
    if _NOT_XML.search(value):
        raise NotWritable(value[:40])
    return value.translate(_ESCAPES)


def _double(value: float) -> str:
    """A Double as Spyne writes it, after the service's rounding to two decimals."""
    return repr(round(value, 2))


class TravelTimesAnswer:
    """Renders GetTravelTimesResponse envelopes, byte for byte what Spyne sends."""

    def __init__(self, render_with_spyne: Callable[[list[domain.DirectionTravelTime]], bytes],
                 sample: domain.DirectionTravelTime) -> None:
        """`render_with_spyne(result) -> bytes` is called once, on `sample`, for the envelope."""
        template = render_with_spyne([sample]).decode("utf-8")
        marker = ":travelTime>"
        first = template.index(marker)
        prefix = template[template.rindex("<", 0, first) + 1:first]
        opening, closing = f"<{prefix}{marker}", f"</{prefix}{marker}"
        self._head = template[:template.index(opening)].encode("utf-8")
        self._tail = template[template.rindex(closing) + len(closing):].encode("utf-8")
        self._p = prefix
        # A segment's own elements (id, names, length) written once per Segment object: the
        # network's segments live as long as its version is served. Keyed by identity, the
        # object kept with its text so an id is never taken for another object's.
        self._segment_heads: dict[int, tuple[domain.Segment, str]] = {}
        # The sample must come back identical, or this writer does not match Spyne's.
        if self.render([sample]) != template.encode("utf-8"):
            raise ValueError("direct GetTravelTimes rendering differs from Spyne's")

    def render(self, result: Sequence[domain.DirectionTravelTime]) -> bytes:
        """The response envelope for `result` (one entry per direction)."""
        p = self._p
        parts: list[str] = []
        add = parts.append
        for tt in result:
            add(f"<{p}:travelTime><{p}:highway>{_text(tt.highway_id)}</{p}:highway>"
                f"<{p}:direction>{tt.direction.value}</{p}:direction>"
                f"<{p}:asOf>{tt.as_of.replace(microsecond=0).isoformat()}</{p}:asOf>"
                f"<{p}:totalMinutes>{_double(tt.total_minutes)}</{p}:totalMinutes>"
                f"<{p}:freeFlowMinutes>{_double(tt.free_flow_minutes)}</{p}:freeFlowMinutes>")
            for state in tt.segments:
                observed = ("" if state.observed_at is None else
                            f"<{p}:observedAt>{_datetime(state.observed_at)}</{p}:observedAt>")
                add(self._segment_head(state.segment))
                add(f"<{p}:speedKph>{_double(state.speed_kph)}</{p}:speedKph>"
                    f"<{p}:currentMinutes>{_double(state.current_minutes)}</{p}:currentMinutes>"
                    f"<{p}:freeFlowMinutes>{_double(state.free_flow_minutes)}"
                    f"</{p}:freeFlowMinutes>"
                    f"<{p}:congestion>{state.congestion.value}</{p}:congestion>{observed}"
                    f"<{p}:stale>{'true' if state.stale else 'false'}</{p}:stale>"
                    f"</{p}:segment>")
            add(f"</{p}:travelTime>")
        return b"".join((self._head, "".join(parts).encode("utf-8"), self._tail))

    def _segment_head(self, seg: domain.Segment) -> str:
        """<segment> up to lengthKm: what depends on the segment alone (NotWritable as ever)."""
        known = self._segment_heads.get(id(seg))
        if known is not None and known[0] is seg:
            return known[1]
        p = self._p
        head = (f"<{p}:segment><{p}:segmentId>{_text(seg.id)}</{p}:segmentId>"
                f"<{p}:fromName>{_text(seg.from_name)}</{p}:fromName>"
                f"<{p}:toName>{_text(seg.to_name)}</{p}:toName>"
                f"<{p}:lengthKm>{_double(seg.length_km)}</{p}:lengthKm>")
        if len(self._segment_heads) >= _SEGMENT_HEADS:
            self._segment_heads.clear()  # networks replaced many times over: start again
        self._segment_heads[id(seg)] = (seg, head)
        return head


def _datetime(value: dt.datetime) -> str:
    """A DateTime as Spyne writes it (ISO 8601, the offset kept)."""
    return value.isoformat()
