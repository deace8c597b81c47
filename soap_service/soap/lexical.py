"""Schema-valid lexical forms Spyne cannot parse, rewritten to ones it can (or refused)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from lxml import etree

from soap_service import faults
from soap_service.faults import ServiceFault

XS = "{http://www.w3.org/2001/XMLSchema}"
# xs:dateTime's lexical space (XSD 1.0): an optional '-', a year of four or more digits,
# hour 24 allowed only as 24:00:00(.0*); the contract's UtcDateTime adds a mandatory zone.
_DATETIME = re.compile(
    r"(-?)(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+\-]\d\d:\d\d)?"
)


def datetime_element_names(schema: etree._Element) -> frozenset[str]:
    """Clark names of the elements the schema types as xs:dateTime (or a restriction of it)."""
    target = schema.get("targetNamespace") or ""
    types = {"xs:dateTime"}
    for simple in schema.iter(XS + "simpleType"):
        restriction = simple.find(XS + "restriction")
        if restriction is not None and restriction.get("base") == "xs:dateTime":
            types.add("tns:" + (simple.get("name") or ""))
    qualified = schema.get("elementFormDefault") == "qualified"
    return frozenset(
        (f"{{{target}}}" if qualified else "") + (element.get("name") or "")
        for element in schema.iter(XS + "element")
        if element.get("type") in types
    )


def normalize_datetimes(elements: Iterable[etree._Element], names: frozenset[str]) -> None:
    """Rewrite schema-valid xs:dateTime text into the form Spyne parses, in place.

    The schema collapses whitespace and allows 24:00:00 (the next day's midnight); Spyne's
    parser accepts neither, and Python's datetime holds only years 1-9999. Whitespace is
    trimmed, 24:00:00 becomes the next day's 00:00:00, and an unrepresentable year is
    refused with Client.ValueOutOfRange, so a schema-valid value never becomes soap:Server.
    A zone offset becomes UTC (`Z`): Spyne 2.14 reads a negative offset with minutes wrongly
    (`-05:30` as `-04:30`, `-00:30` as `+00:30`), which would store such an observation an
    hour off; in UTC every binding path reads the same instant.
    """
    settled: set[str] = set()  # texts seen already in Spyne's form (batches repeat them)
    for element in elements:
        written = element.text
        if written is None or written in settled or element.tag not in names:
            continue
        text = written.strip()
        match = _DATETIME.fullmatch(text)
        if match is None:  # not reachable for a schema-valid Body; Spyne will say why
            element.text = text
            continue
        sign, year, month, day, hour, minute, second, fraction, zone = match.groups()
        if (not sign and hour != "24" and zone == "Z" and text is written
                and len(year) == 4 and year[0] != "0"):
            settled.add(written)
            continue  # already the form Spyne reads (the common case: skip the rewrite)
        name = etree.QName(element).localname
        if sign or not 1 <= int(year) <= 9999:
            raise ServiceFault(faults.CLIENT_VALUE_OUT_OF_RANGE,
                               f"{name} has a year outside 0001-9999: {text[:40]!r}")
        if hour == "24":
            try:
                following = dt.date(int(year), int(month), int(day)) + dt.timedelta(days=1)
            except OverflowError:
                raise ServiceFault(faults.CLIENT_VALUE_OUT_OF_RANGE,
                                   f"{name} is past 9999-12-31: {text[:40]!r}") from None
            text = f"{following.isoformat()}T00:00:00{zone or ''}"
            year, month, day = following.isoformat().split("-")
            hour = "00"
        if zone and zone != "Z" and zone[1:] != "00:00":
            text = _as_utc(name, text, (year, month, day, hour, minute, second), fraction, zone)
        element.text = text


def _as_utc(name: str, text: str, fields: tuple[str, ...], fraction: str | None,
            zone: str) -> str:
    """`2026-01-15T07:30:00.25-05:30` -> `2026-01-15T13:00:00.25Z` (the fraction kept as
    written, so its rounding stays the parser's)."""
    year, month, day, hour, minute, second = (int(f) for f in fields)
    local = dt.datetime(year, month, day, hour, minute, second)
    offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        utc = local - offset if zone[0] == "+" else local + offset
    except OverflowError:
        raise ServiceFault(faults.CLIENT_VALUE_OUT_OF_RANGE,
                           f"{name} is outside 0001-9999 in UTC: {text[:40]!r}") from None
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
            f"{utc.second:02d}{fraction or ''}Z")
