"""The client's lean ReportObservations (client/fast_report.py) sends what zeep sends and
gives the same results and the same errors."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from zeep.wsse import Compose
from zeep.xsd.types.builtins import DateTime

from client import errors, fast_report, operations, wsse
from client.client import HighwayClient
from client.fast_report import FastReport, ReportBody, items_content, request_text, xsd_datetime
from client.models import TNS, Observation, ReportResult
from tests.client.test_fast_path import _NoOpPlugin
from tests.conftest import RunningServer
from tests.ops.ops_helpers import add_account

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


# Prepared batches (HighwayClient.prepare_report / send_report, client/upload.py) -----------

SPEEDS = [55.5, 0.0, -0.0, 0, -0.001, 0.004, 12.345, 12.355, 300, 1e1, True,
          decimal.Decimal("42.125"), decimal.Decimal("-0"), 99.999, 1e-7, 7]
IDS = ["plain-1", "a&b<c>d", "tab\there", "cr\rlf\n", "é", "x]]>y", 'q"uo\'te', b"bytes-id", 17]


def _tricky(count: int) -> list[Observation]:
    return [Observation(IDS[i % len(IDS)], IDS[(i + 3) % len(IDS)], TIMES[i % len(TIMES)],
                        SPEEDS[i % len(SPEEDS)]) for i in range(count)]  # type: ignore[arg-type]


def test_a_prepared_batch_is_byte_for_byte_zeeps() -> None:
    client = HighwayClient(url="http://127.0.0.1:9/soap")
    for batch in (_tricky(40), _tricky(40)[::-1], _tricky(40)):  # the speed cache warm, cold
        items = operations.report_observations(batch).kwargs["observation"]
        zeeps = client._zeep.create_message(client._service, "ReportObservations",
                                            observation=items)
        body = ReportBody(batch)
        assert body.content == items_content(items)
        assert body.content is not None
        ours = etree.fromstring(request_text(items))
        assert etree.tostring(ours) == etree.tostring(zeeps)
        # What is sent is the text itself: it must be what lxml writes for the parsed tree.
        assert etree.tostring(ours, xml_declaration=True, encoding="utf-8") == (
            b"<?xml version='1.0' encoding='utf-8'?>\n" + request_text(items))


def test_a_prepared_batch_checks_what_report_observations_checks() -> None:
    naive = [Observation("s", "192-WB-01", TIMES[0], 20),
             Observation("s", "192-WB-01", dt.datetime(2026, 1, 2, 3, 4), 20)]
    for make in (ReportBody, operations.report_observations):
        with pytest.raises(ValueError, match="has no time zone"):
            make(naive)
        with pytest.raises(ValueError, match="a batch needs at least one observation"):
            make(iter([]))
        with pytest.raises(ValueError, match="could not convert"):
            make([Observation("s", "192-WB-01", TIMES[0], "fast")])  # type: ignore[arg-type]


def test_a_character_xml_cannot_carry_is_left_to_zeep() -> None:
    client = HighwayClient(url="http://127.0.0.1:9/soap")
    for char in ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\ud7ff",
                 "\ue000", "\ufffd", "\ufffe", "\uffff", "\U0001f600", "\t", "\n", " "]:
        batch = [Observation(f"s{char}1", "217-NB-01", TIMES[0], 50.0)]
        items = operations.report_observations(batch).kwargs["observation"]
        try:
            client._zeep.create_message(client._service, "ReportObservations",
                                        observation=items)
            zeep_can = True
        except ValueError:
            zeep_can = False
        assert (ReportBody(batch).content is not None) == zeep_can, repr(char)


def _fixed_digest(monkeypatch: pytest.MonkeyPatch, client: HighwayClient) -> None:
    """A digest UsernameToken with a fixed nonce, Created and wsu:Id (to compare bytes)."""
    monkeypatch.setattr(wsse.secrets, "token_bytes", lambda n: b"\x01" * n)
    monkeypatch.setattr(wsse.secrets, "token_hex", lambda n: "ab" * n)
    for mechanism in client._zeep.wsse.wsse_objects:
        mechanism._clock = lambda: TIMES[0]


@pytest.mark.parametrize("mechanisms", [["digest"], ["text", "timestamp"], []])
def test_the_secured_request_is_what_the_whole_envelope_gives(
        monkeypatch: pytest.MonkeyPatch, mechanisms: list[str]) -> None:
    """Header-only wsse is applied to the envelope without the Body's content, which is
    then written into the serialised Body: the same bytes as securing the whole tree."""
    client = HighwayClient(url="http://127.0.0.1:9/soap", username="op", password="pw",
                           digest="digest" in mechanisms)
    chain = [wsse.TimestampSigner(clock=lambda: TIMES[0])] if "timestamp" in mechanisms else []
    client._zeep.wsse.wsse_objects.extend(chain)
    if not mechanisms:
        client._zeep.wsse = None
    else:
        _fixed_digest(monkeypatch, client)
    assert client._zeep.wsse is None or fast_report._header_only(client._zeep.wsse)
    fast = client._operations["ReportObservations"]
    content = ReportBody(_tricky(30)).content
    assert content is not None
    body, headers = fast._secured(content)
    envelope = etree.fromstring(request_text(
        operations.report_observations(_tricky(30)).kwargs["observation"]))
    expected_headers = {"SOAPAction": f'"{TNS}/ReportObservations"',
                        "Content-Type": "text/xml; charset=utf-8"}
    if client._zeep.wsse is not None:
        envelope, expected_headers = client._zeep.wsse.apply(envelope, expected_headers)
    assert body == etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    assert headers == expected_headers


def test_a_signature_is_applied_to_the_whole_envelope() -> None:
    signer = wsse.X509Signer.__new__(wsse.X509Signer)  # only its type matters here
    assert not fast_report._header_only(Compose([wsse.UsernameTokenSigner("u", "p"), signer]))
    assert fast_report._header_only(Compose([wsse.UsernameTokenSigner("u", "p")]))

    class Custom(wsse.UsernameTokenSigner):
        """A subclass might touch the Body: not assumed header-only."""

    assert not fast_report._header_only(Compose([Custom("u", "p")]))


def test_prepared_batches_are_sent_with_a_fresh_nonce_each_time(
        server_factory: Any, tmp_path: Path) -> None:
    db = tmp_path / "highway.db"
    add_account(db, "op", "operator", "digest pw", digest=True)
    server = server_factory(db=db)
    with HighwayClient(url=server.url, username="op", password="digest pw",
                       digest=True) as client:
        prepared = client.prepare_report(_batch("fresh", 5))
        assert client.send_report(prepared) == ReportResult(5, 0)
        # The same prepared request again: a new nonce (no replay refusal), all duplicates.
        assert client.send_report(prepared) == ReportResult(0, 5)
        assert client.report_observations(_batch("fresh", 5)) == ReportResult(0, 5)


def test_with_plugins_a_prepared_batch_is_zeeps(open_server: RunningServer) -> None:
    with HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()]) as client:
        prepared = client.prepare_report(_batch("plugged", 3))
        assert isinstance(prepared.kwargs["observation"], list)
        assert client.send_report(prepared) == ReportResult(3, 0)
