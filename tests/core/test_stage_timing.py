"""--stage-timing attribution on a fake time source: each stage is charged exactly the time
spent in it; the pacing and yields between steps of a large body are charged to no stage."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path
from typing import Any

import pytest

from soap_service.compat import spyne as spyne_compat
from soap_service.core import stage_timing as st
from soap_service.core.exchange import Exchange, Reply, TransportInfo
from soap_service.core.observers import ExchangeObserver
from soap_service.core.pipeline import Pipeline
from soap_service.faults import ServiceFault
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.direct_report import ReportAnswer
from soap_service.soap.response_cache import ResponseCache, store_key_version
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application, report_batch
from soap_service.store.traffic_store import TrafficStore, open_traffic_store
from tests.soap_helpers import envelope, report_body, travel_times_body

# What each fake part advances the clock by (distinct primes: a sum tells who was charged).
CREATED_BEFORE = 50
IN_FLIGHT, IP_LIMIT, PARSE, SCHEMA = 2, 3, 5, 23
WSS, AUTH, UNKNOWN, PRINCIPAL_LIMIT = 7, 11, 4, 37
LOAD, REPORT, CALL, SERIALIZE, RENDER, OBSERVE = 101, 211, 19, 17, 29, 13
YIELD = 100_000  # another request runs while this one yields: charged to nobody


class FakeClock:
    """A time source that moves only when told."""

    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ns: int) -> None:
        """Let `ns` nanoseconds pass."""
        self.now += ns


class Spend:
    """A stage that takes `ns` and may refuse; named by `timing_stage` or by its class."""

    def __init__(self, clock: FakeClock, ns: int, name: str | None = None,
                 refuse: bool = False) -> None:
        self._clock, self._ns, self._refuse = clock, ns, refuse
        if name is not None:
            self.timing_stage = name

    async def __call__(self, exchange: Exchange) -> None:
        self._clock.advance(self._ns)
        if self._refuse:
            raise ServiceFault("soap:Client.NotAuthorized", "no", http_status=500)


class SecurityLike(Spend):
    """Classified by class through Pipeline(stage_names=...), as assembly does for security/."""


class SlowObserver(ExchangeObserver):
    """An observer that takes OBSERVE."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock

    def completed(self, exchange: Exchange, reply: Reply, fault: ServiceFault | None) -> None:
        self._clock.advance(OBSERVE)


class SpendingGuard(XmlGuard):
    """The real XML guard, taking PARSE."""

    clock: FakeClock

    def parse(self, exchange: Exchange) -> None:
        self.clock.advance(PARSE)
        super().parse(exchange)


class SpendingRunner(SpyneRunner):
    """The real runner whose prepare takes SCHEMA."""

    clock: FakeClock

    def prepare(self, exchange: Exchange) -> Any:
        self.clock.advance(SCHEMA)
        return super().prepare(exchange)


def _timed_pipeline(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, *,
                    refuse: bool = False) -> tuple[Pipeline, st.StageTimer]:
    store = open_traffic_store(str(tmp_path / "t.db"))
    loader = OperationLoader(store)

    async def load(ctx: Any) -> None:
        clock.advance(LOAD)
        await loader(ctx)

    async def report(batch: Any) -> Any:
        clock.advance(REPORT)
        return await report_batch(store, batch)

    def spending(ns: int, real: Any) -> Any:
        @functools.wraps(real)
        def wrapper(*args: Any) -> Any:
            clock.advance(ns)
            return real(*args)
        return wrapper

    runner = SpendingRunner(build_application(store), load=load, report=report,
                            cache=_cache(store))
    runner.clock = clock
    monkeypatch.setattr(spyne_compat, "call", spending(CALL, spyne_compat.call))
    monkeypatch.setattr(spyne_compat, "serialize", spending(SERIALIZE, spyne_compat.serialize))
    monkeypatch.setattr(ReportAnswer, "render", spending(RENDER, ReportAnswer.render))
    guard = SpendingGuard.from_settings(FrontDoorSettings())
    guard.clock = clock
    timer = st.StageTimer(clock)
    pipeline = Pipeline(
        before_parse=[Spend(clock, IN_FLIGHT, st.FRONT_DOOR),
                      Spend(clock, IP_LIMIT, st.RATE_LIMIT)],
        guard=guard,
        runner=runner,
        before_operation=[SecurityLike(clock, WSS), Spend(clock, AUTH, st.AUTHORIZATION,
                                                          refuse=refuse),
                          Spend(clock, UNKNOWN), Spend(clock, PRINCIPAL_LIMIT, st.RATE_LIMIT)],
        observers=[SlowObserver(clock)],
        timer=timer,
        stage_names={SecurityLike: st.WS_SECURITY},
    )
    return pipeline, timer


def _cache(store: TrafficStore) -> ResponseCache:
    return ResponseCache(store.answer_version, key_version=store_key_version(store))


def _send(pipeline: Pipeline, timer: st.StageTimer, clock: FakeClock, body: bytes, *,
          other_request: bool = False) -> Reply:
    exchange = Exchange(correlation_id="cid-t", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"}, body=body,
                        transport=TransportInfo("127.0.0.1"))
    exchange.timing = timer.start(clock.now - CREATED_BEFORE)

    async def go() -> Reply:
        if other_request:  # runs at the first yield: bulk share's after_step, large body
            asyncio.get_running_loop().call_soon(clock.advance, YIELD)
        return await pipeline.handle(exchange)

    return asyncio.run(go())


def _spent(timer: st.StageTimer, operation: str) -> dict[str, int]:
    return {stage: ns for (op, stage), ns in timer.totals_ns.items() if op == operation}


BEFORE = {st.FRONT_DOOR: CREATED_BEFORE + IN_FLIGHT, st.RATE_LIMIT: IP_LIMIT + PRINCIPAL_LIMIT,
          st.PARSE: PARSE, st.SCHEMA: SCHEMA, st.WS_SECURITY: WSS, st.AUTHORIZATION: AUTH,
          st.OTHER: UNKNOWN}


def test_a_read_is_charged_stage_by_stage(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    pipeline, timer = _timed_pipeline(tmp_path, clock, monkeypatch)
    body = envelope(travel_times_body("192", "EB"))
    assert _send(pipeline, timer, clock, body).status == 200  # cache miss: store, Spyne
    assert _spent(timer, "GetTravelTimes") == {
        **BEFORE, st.STORE: LOAD, st.OPERATION: CALL, st.SERIALIZATION: SERIALIZE,
        st.OBSERVERS: OBSERVE}
    assert _send(pipeline, timer, clock, body).status == 200  # cached: no store, no Spyne
    assert _spent(timer, "GetTravelTimes") == {
        **{stage: 2 * ns for stage, ns in BEFORE.items()}, st.STORE: LOAD, st.OPERATION: CALL,
        st.SERIALIZATION: SERIALIZE, st.OBSERVERS: 2 * OBSERVE}
    assert timer.requests == {"GetTravelTimes": 2}


def test_a_large_batch_is_charged_and_its_yields_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    pipeline, timer = _timed_pipeline(tmp_path, clock, monkeypatch)
    start = clock.now - CREATED_BEFORE
    reply = _send(pipeline, timer, clock, envelope(report_body("timing", 200)),
                  other_request=True)
    assert reply.status == 200 and b"<tns:accepted>200<" in reply.body.replace(b"ns0:", b"tns:")
    spent = _spent(timer, "ReportObservations")
    assert spent == {**BEFORE, st.STORE: REPORT, st.OPERATION: 0, st.SERIALIZATION: RENDER,
                     st.OBSERVERS: OBSERVE}
    assert sum(spent.values()) == clock.now - start - YIELD


def test_a_refused_request_charges_the_stages_it_passed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    pipeline, timer = _timed_pipeline(tmp_path, clock, monkeypatch, refuse=True)
    reply = _send(pipeline, timer, clock, envelope(travel_times_body("192", "EB")))
    assert reply.status == 500 and b"NotAuthorized" in reply.body
    assert _spent(timer, "GetTravelTimes") == {
        st.FRONT_DOOR: CREATED_BEFORE + IN_FLIGHT, st.RATE_LIMIT: IP_LIMIT, st.PARSE: PARSE,
        st.SCHEMA: SCHEMA, st.WS_SECURITY: WSS, st.OBSERVERS: OBSERVE}
    assert timer.requests == {"GetTravelTimes": 1}


def test_without_a_timer_nothing_is_recorded(tmp_path: Path) -> None:
    store = open_traffic_store(str(tmp_path / "n.db"))
    pipeline = Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                        runner=SpyneRunner(build_application(store), load=OperationLoader(store)),
                        before_operation=[])
    exchange = Exchange(correlation_id="cid-n", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"},
                        body=envelope(travel_times_body("192", "EB")),
                        transport=TransportInfo("127.0.0.1"))
    assert asyncio.run(pipeline.handle(exchange)).status == 200
    assert pipeline.timer is None and exchange.timing is None

