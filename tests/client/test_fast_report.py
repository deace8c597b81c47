"""The client's lean ReportObservations (client/fast_report.py) sends what zeep sends and
gives the same results and the same errors."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from lxml import etree
from zeep.xsd.types.builtins import DateTime

from client import errors
from client.client import HighwayClient
from client.fast_report import FastReport, request_text, xsd_datetime
from client.models import Observation, ReportResult
from tests.client.test_fast_path import _NoOpPlugin
from tests.conftest import RunningServer

TIMES = [
    dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=dt.UTC),
    dt.datetime(2026, 6, 30, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.datetime(2026, 6, 30, 0, 0, 1, 999999,
                tzinfo=dt.timezone(-dt.timedelta(hours=3, minutes=30))),
]


def test_times_are_written_as_zeep_writes_them() -> None:
    same_instant = TIMES[0].astimezone(dt.timezone(dt.timedelta(hours=5, minutes=45)))
    for moment in [*TIMES, same_instant, TIMES[0]]:  # equal instants, other zones: own text
        assert xsd_datetime(moment) == DateTime().xmlvalue(moment)


def test_the_request_is_byte_for_byte_zeeps() -> None:
    client = HighwayClient(url="http://127.0.0.1:9/soap")
    items = [{"sensorId": name, "segmentId": "217-NB-01", "observedAt": at,
              "speedKph": decimal.Decimal(speed)}
             for name, at, speed in zip(["plain-1", "a&b<c>d", "tab\there", "cr\rlf\n", "é"],
                                        TIMES + TIMES, ["55.5", "0", "300", "12.25", "1E+1"],
                                        strict=False)]
    zeeps = client._zeep.create_message(client._service, "ReportObservations", observation=items)
    ours = etree.fromstring(request_text(items))
    assert etree.tostring(ours) == etree.tostring(zeeps)


def _batch(prefix: str, count: int, segment: str = "217-NB-01") -> list[Observation]:
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    return [Observation(f"{prefix}-{i}", segment, at, 20.0 + i % 80) for i in range(count)]


def test_lean_and_zeep_paths_give_equal_results(open_server: RunningServer) -> None:
    lean = HighwayClient(url=open_server.url)
    full = HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()])
    assert isinstance(lean._operations["ReportObservations"], FastReport)
    assert not isinstance(full._operations["ReportObservations"], FastReport)
    batch = _batch("lean", 1000)
    assert lean.report_observations(batch) == ReportResult(1000, 0)
    assert full.report_observations(batch) == ReportResult(0, 1000)  # idempotent: the same
    other = _batch("full", 3)
    assert full.report_observations(other) == ReportResult(3, 0)
    assert lean.report_observations(other) == ReportResult(0, 3)


def test_faults_are_the_same_on_the_lean_path(open_server: RunningServer) -> None:
    raised = []
    for client in (HighwayClient(url=open_server.url),
                   HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()])):
        with pytest.raises(errors.ServiceFaultError) as info:
            client.report_observations(_batch("unknown", 2, segment="999-NB-01"))
        raised.append((type(info.value), info.value.code, info.value.http_status,
                       str(info.value)))
    assert raised[0] == raised[1]
    assert raised[0][1].endswith("Client.UnknownSegment")


def test_a_value_that_cannot_be_xml_fails_as_on_zeeps_path(open_server: RunningServer) -> None:
    bad = [Observation("ctl\x01", "217-NB-01", dt.datetime.now(dt.UTC), 50.0)]
    messages = []
    for client in (HighwayClient(url=open_server.url),
                   HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()])):
        with pytest.raises(ValueError) as info:
            client.report_observations(bad)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
