"""Small helpers for tests that speak raw HTTP/SOAP to the server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import urllib.parse

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
TNS = "urn:highway-traffic:v1"


def envelope(body: str, header: str = "") -> bytes:
    """A SOAP 1.1 envelope with `t:` bound to the contract namespace."""
    head = f"<s:Header>{header}</s:Header>" if header else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{SOAP11}" '
        f'xmlns:t="{TNS}">{head}<s:Body>{body}</s:Body></s:Envelope>'
    ).encode()


def travel_times_body(highway: str, direction: str | None = None) -> str:
    """The Body content of a GetTravelTimes request."""
    extra = f"<t:direction>{direction}</t:direction>" if direction else ""
    return f"<t:GetTravelTimes><t:highway>{highway}</t:highway>{extra}</t:GetTravelTimes>"


def report_body(prefix: str, count: int, segment: str = "192-EB-01") -> str:
    """The Body content of a ReportObservations of `count` new observations, observed now."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = "".join(
        f"<t:observation><t:sensorId>{prefix}-{i}</t:sensorId><t:segmentId>{segment}"
        f"</t:segmentId><t:observedAt>{now}</t:observedAt><t:speedKph>50</t:speedKph>"
        "</t:observation>" for i in range(count))
    return f'<t:ReportObservations xmlns:t="{TNS}">{items}</t:ReportObservations>'


@dataclasses.dataclass
class RawResponse:
    """Status, headers and body of a raw HTTP answer."""

    status: int
    headers: dict[str, str]
    body: bytes

    def fault(self) -> tuple[str, str]:
        """(faultcode, faultstring) of a SOAP fault body; raises if it is not one."""
        root = etree.fromstring(self.body)
        fault = root.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
        assert fault is not None, self.body[:300]
        return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""

    def fault_detail(self) -> dict[str, str]:
        """The tns:ServiceFault detail items of a fault body."""
        root = etree.fromstring(self.body)
        detail = root.find(f".//{{{TNS}}}ServiceFault")
        return {
            etree.QName(e).localname: e.text or "" for e in (detail if detail is not None else [])
        }


def request(
    url: str,
    body: bytes | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    path: str | None = None,
    timeout: float = 10.0,
) -> RawResponse:
    """Send one raw HTTP request to the server behind `url`."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    all_headers = {"Content-Type": "text/xml; charset=utf-8"} if body is not None else {}
    all_headers.update(headers or {})
    try:
        conn.request(method, path or parts.path or "/", body=body, headers=all_headers)
        response = conn.getresponse()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        conn.close()
