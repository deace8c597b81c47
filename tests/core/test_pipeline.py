"""The pipeline always ends in a reply: a broken observer cannot lose it or starve the others."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from soap_service.faults import ServiceFault
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application
from soap_service.store.traffic_store import open_traffic_store
from soap_service.web.exchange import Exchange, Reply, TransportInfo
from soap_service.web.pipeline import ExchangeObserver, Pipeline
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
