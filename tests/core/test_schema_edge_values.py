"""Schema-valid edge values of every request field, generated from the contract's XSD, are
either served or refused with a specific Client fault: never soap:Server or a bare Client."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from pathlib import Path

import pytest
from lxml import etree

from soap_service import faults
from soap_service.contract.contract import schema_element, validation_schema
from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.core.pipeline import Pipeline
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application
from soap_service.store.traffic_store import open_traffic_store
from tests.soap_helpers import envelope

XS = "{http://www.w3.org/2001/XMLSchema}"
TNS = "urn:highway-traffic:v1"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
SPECIFIC = {value for name, value in vars(faults).items()
            if isinstance(value, str) and value.startswith("soap:Client.")}


def _simple_types() -> dict[str, etree._Element]:
    return {f"tns:{t.get('name')}": t for t in schema_element().iter(XS + "simpleType")}


def candidates(type_name: str) -> list[str]:
    """Edge values from the type's facets (some may fail the schema; those are dropped)."""
    simple = _simple_types().get(type_name)
    values: list[str] = []
    if simple is None:
        return values
    restriction = simple.find(XS + "restriction")
    assert restriction is not None
    base = restriction.get("base")
    facets = {f.tag.removeprefix(XS): f.get("value") for f in restriction}
    enums = [f.get("value") or "" for f in restriction.findall(XS + "enumeration")]
    if enums:
        values += enums + [f" {enums[0]} "]
    if base == "xs:string" and not enums:
        low, high = int(facets.get("minLength", 1)), int(facets.get("maxLength", 4))
        for n in (low, high, 1, 4, 5):
            values += ["9" * n, "A" * n, "a" + "-" * (n - 1), "9" * (n - 1) + "Z"]
    if base == "xs:decimal":
        low, high = facets.get("minInclusive", "0"), facets.get("maxInclusive", "1")
        values += [low, high, f" {high} ", f"+{high}", f"{low}.00", "0.5", ".5", "1.",
                   "00001.10", f"-{low}"]
    if base == "xs:dateTime":
        day = NOW.date()
        values += [
            f"{day - dt.timedelta(days=1)}T24:00:00Z", f"{day}T24:00:00.000Z",
            f"  {NOW:%Y-%m-%dT%H:%M:%S}Z\n", f"{NOW:%Y-%m-%dT%H:%M:%S}.123456789Z",
            f"{NOW + dt.timedelta(hours=14):%Y-%m-%dT%H:%M:%S}+14:00",
            f"{NOW - dt.timedelta(hours=14):%Y-%m-%dT%H:%M:%S}-14:00",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T24:00:00Z",
            "-0001-01-01T00:00:00Z", "10000-01-01T00:00:00Z", f"{NOW:%Y-%m-%dT%H:%M:%S}+00:00",
        ]
    return values


REPORT = {"sensorId": "s-edge", "segmentId": "192-EB-01",
          "observedAt": f"{NOW - dt.timedelta(seconds=30):%Y-%m-%dT%H:%M:%SZ}",
          "speedKph": "50"}
FIELD_TYPES = {"sensorId": "tns:SensorId", "segmentId": "tns:SegmentId",
               "observedAt": "tns:UtcDateTime", "speedKph": "tns:SpeedKph",
               "highway": "tns:HighwayId", "direction": "tns:Direction"}


def body_for(field: str, value: str) -> str:
    if field in REPORT:
        items = "".join(f"<t:{k}>{value if k == field else v}</t:{k}>" for k, v in REPORT.items())
        return (f'<t:ReportObservations xmlns:t="{TNS}"><t:observation>{items}'
                "</t:observation></t:ReportObservations>")
    highway = value if field == "highway" else "192"
    direction = f"<t:direction>{value}</t:direction>" if field == "direction" else ""
    return (f'<t:GetTravelTimes xmlns:t="{TNS}"><t:highway>{highway}</t:highway>'
            f"{direction}</t:GetTravelTimes>")


def schema_valid_cases() -> list[tuple[str, str]]:
    xsd = validation_schema()
    cases = []
    for field, type_name in FIELD_TYPES.items():
        for value in dict.fromkeys(candidates(type_name)):
            if xsd.validate(etree.fromstring(body_for(field, value))):
                cases.append((field, value))
    return cases


CASES = schema_valid_cases()


def test_the_generator_finds_edge_values_of_every_field() -> None:
    fields = {field for field, _ in CASES}
    assert fields == set(FIELD_TYPES)
    assert any("24:00:00" in v for _, v in CASES) and any(v != v.strip() for _, v in CASES)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    store = open_traffic_store(str(Path(tmp_path_factory.mktemp("edge")) / "e.db"))
    return Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                    runner=SpyneRunner(build_application(store), load=OperationLoader(store)),
                    before_operation=[])


@pytest.mark.parametrize(("field", "value"), CASES)
def test_schema_valid_value_is_served_or_refused_specifically(
    pipeline: Pipeline, field: str, value: str, caplog: pytest.LogCaptureFixture
) -> None:
    exchange = Exchange(correlation_id="cid-edge", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"},
                        body=envelope(body_for(field, value)), transport=TransportInfo("127.0.0.1"))
    reply = asyncio.run(pipeline.handle(exchange))
    if reply.status == 200:
        # Every answer validates against our own contract.
        root = etree.fromstring(reply.body)
        answer = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
        assert validation_schema().validate(answer), validation_schema().error_log
    else:
        code = re.search(rb"<faultcode>([^<]*)</faultcode>", reply.body)
        assert code is not None
        assert code.group(1).decode() in SPECIFIC, (field, value, reply.body[:300])
    assert "Traceback" not in caplog.text
