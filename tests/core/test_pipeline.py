"""The pipeline always ends in a reply: a broken observer cannot lose it or starve the others."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from soap_service.core.exchange import Exchange, Reply, TransportInfo
from soap_service.core.observers import ExchangeObserver
from soap_service.core.pipeline import Pipeline
from soap_service.faults import ServiceFault
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application
from soap_service.store.traffic_store import open_traffic_store
from tests.soap_helpers import envelope, travel_times_body


class Broken(ExchangeObserver):
    """An observer with a bug."""

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        raise RuntimeError("observer bug")


class Recorder(ExchangeObserver):
    """Remembers the statuses it saw."""

    def __init__(self) -> None:
        self.statuses: list[int] = []

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        self.statuses.append(reply.status)


def test_a_raising_observer_does_not_lose_the_reply(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_traffic_store(str(tmp_path / "p.db"))
    recorder = Recorder()
    pipeline = Pipeline(
        before_parse=[],
        guard=XmlGuard.from_settings(FrontDoorSettings()),
        runner=SpyneRunner(build_application(store), load=OperationLoader(store)),
        before_operation=[],
        observers=[Broken(), recorder],
    )
    exchange = Exchange(
        correlation_id="cid-1",
        method="POST",
        path="/soap",
        headers={"content-type": "text/xml; charset=utf-8"},
        body=envelope(travel_times_body("192", "EB")),
        transport=TransportInfo("127.0.0.1"),
    )
    with caplog.at_level(logging.ERROR):
        reply = asyncio.run(pipeline.handle(exchange))
    assert reply.status == 200 and b"GetTravelTimesResponse" in reply.body
    assert recorder.statuses == [200]
    assert "observer Broken failed correlation_id=cid-1" in caplog.text


def _batch_body(count: int) -> str:
    items = "".join(
        f"<t:observation><t:sensorId>ord-{i}</t:sensorId><t:segmentId>192-EB-01</t:segmentId>"
        "<t:observedAt>2020-01-01T00:00:00Z</t:observedAt><t:speedKph>50</t:speedKph>"
        "</t:observation>"
        for i in range(count)
    )
    return f'<t:ReportObservations xmlns:t="urn:highway-traffic:v1">{items}</t:ReportObservations>'


@pytest.mark.parametrize("refuse", [True, False])
def test_the_body_is_bound_only_after_security_accepted_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refuse: bool
) -> None:
    """Authenticate before expensive work: Spyne's deserialization runs after the stages."""
    store = open_traffic_store(str(tmp_path / "o.db"))
    runner = SpyneRunner(build_application(store), load=OperationLoader(store))
    events: list[str] = []
    bind = SpyneRunner._spyne_prepare

    def counting_bind(self: SpyneRunner, envelope_root: object) -> object:
        events.append("bind")
        return bind(self, envelope_root)

    monkeypatch.setattr(SpyneRunner, "_spyne_prepare", counting_bind)

    async def security(exchange: Exchange) -> None:
        events.append("security")
        if refuse:
            raise ServiceFault("wsse:FailedAuthentication", "no", http_status=500)

    pipeline = Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                        runner=runner, before_operation=[security])
    exchange = Exchange(correlation_id="cid-o", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"},
                        body=envelope(_batch_body(1000)), transport=TransportInfo("127.0.0.1"))
    reply = asyncio.run(pipeline.handle(exchange))
    if refuse:
        assert reply.status == 500 and b"FailedAuthentication" in reply.body
        assert events == ["security"]
    else:
        # Old observations: refused by the model (7-day window), but only after binding.
        assert events == ["security", "bind"]
        assert b"ValueOutOfRange" in reply.body


def test_an_invalid_body_still_gets_the_schema_fault_before_security(tmp_path: Path) -> None:
    store = open_traffic_store(str(tmp_path / "v.db"))
    seen: list[str] = []

    async def security(exchange: Exchange) -> None:
        seen.append("security")

    pipeline = Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                        runner=SpyneRunner(build_application(store), load=OperationLoader(store)),
                        before_operation=[security])
    body = _batch_body(1).replace("<t:speedKph>50", "<t:speedKph>fast")
    exchange = Exchange(correlation_id="cid-v", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"},
                        body=envelope(body), transport=TransportInfo("127.0.0.1"))
    reply = asyncio.run(pipeline.handle(exchange))
    assert b"SchemaValidation" in reply.body and seen == []
