"""The direct GetTravelTimes writer (soap/direct_read.py) gives Spyne's bytes: on generated
answers (markup, quotes, non-ASCII and astral text; tiny, huge and negative-zero-free
doubles; every congestion level; with and without observedAt) and through the pipeline."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import random
import re
from pathlib import Path

import pytest

from soap_service import domain
from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.core.pipeline import Pipeline
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap.direct_read import NotWritable
from soap_service.soap.response_cache import ResponseCache, store_key_version
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application, travel_times
from soap_service.store.traffic_store import TrafficStore, open_traffic_store
from tests.soap_helpers import envelope, travel_times_body

WORDS = ["Main St", "A & B", "<tag>", "x > y", 'say "hi"', "it's", "Caf\u00e9", "\u5317\u4eac",
         "\U0001F697 lane", "tab\there", "two\nlines", "cr\rhere", "]]>", "&amp;", " pad "]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> TrafficStore:
    return open_traffic_store(str(tmp_path_factory.mktemp("direct-read") / "r.db"))


@pytest.fixture(scope="module")
def runner(store: TrafficStore) -> SpyneRunner:
    return SpyneRunner(build_application(store), load=OperationLoader(store),
                       travel_times=functools.partial(travel_times, store))


def _double(rng: random.Random) -> float:
    return rng.choice([0.0, 1.0, 0.005, 0.015, 2.675, 1e-7, 123456.789, 1e17, 88.0,
                       rng.uniform(0, 500), rng.uniform(0, 1), float(rng.randint(0, 10**6))])


def _moment(rng: random.Random) -> dt.datetime:
    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**8))
    return base.replace(microsecond=rng.choice([0, 0, 1000, 250000, 999000, 123456]))


def _answer(rng: random.Random) -> list[domain.DirectionTravelTime]:
    result = []
    for direction in rng.sample(list(domain.Direction), rng.randint(1, 4)):
        segments = tuple(
            domain.SegmentTravelTime(
                domain.Segment(f"{rng.randint(1, 9999)}-{direction.value}-{i:02d}", "1",
                               direction, i, rng.choice(WORDS), rng.choice(WORDS), _double(rng),
                               _double(rng)),
                _double(rng), _double(rng), _double(rng), rng.choice(list(domain.Congestion)),
                rng.choice([None, _moment(rng)]), rng.random() < 0.5)
            for i in range(rng.randint(1, 8)))
        result.append(domain.DirectionTravelTime(
            str(rng.randint(1, 9999)) + rng.choice(["", "A"]), direction, _moment(rng),
            _double(rng), _double(rng), segments))
    return result


def test_generated_answers_are_written_as_spyne_writes_them(runner: SpyneRunner) -> None:
    direct = runner._travel_answer  # noqa: SLF001 - the two writers are compared directly
    assert direct is not None
    rng = random.Random(1203)
    for _ in range(300):
        result = _answer(rng)
        assert direct.render(result) == runner._render_travel_times(result)  # noqa: SLF001


def test_segments_written_again_keep_their_own_texts(runner: SpyneRunner) -> None:
    """A segment's elements are written once per Segment object: the same objects with new
    speeds, and new objects for the same ids (a new network version), still come out as
    Spyne writes them."""
    direct = runner._travel_answer  # noqa: SLF001
    assert direct is not None
    rng = random.Random(77)
    for _ in range(50):
        first = _answer(rng)
        again = [dataclasses.replace(tt, segments=tuple(
            dataclasses.replace(state, speed_kph=_double(rng), stale=not state.stale)
            for state in tt.segments)) for tt in first]
        renamed = [dataclasses.replace(tt, segments=tuple(
            dataclasses.replace(state, segment=dataclasses.replace(
                state.segment, from_name=rng.choice(WORDS), length_km=_double(rng)))
            for state in tt.segments)) for tt in first]
        for result in (first, again, renamed, first):
            assert direct.render(result) == runner._render_travel_times(result)  # noqa: SLF001


def test_text_xml_cannot_hold_is_left_to_spyne(runner: SpyneRunner) -> None:
    direct = runner._travel_answer  # noqa: SLF001
    assert direct is not None
    answer = _answer(random.Random(5))
    seg = answer[0].segments[0]
    bad = dataclasses.replace(seg, segment=dataclasses.replace(seg.segment, from_name="a\x01b"))
    broken = [dataclasses.replace(answer[0], segments=(bad,))]
    with pytest.raises(NotWritable):
        direct.render(broken)


def _read(pipeline: Pipeline, highway: str, direction: str | None) -> tuple[int, bytes]:
    exchange = Exchange(correlation_id="c", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"},
                        body=envelope(travel_times_body(highway, direction)),
                        transport=TransportInfo("127.0.0.1"))
    reply = asyncio.run(pipeline.handle(exchange))
    # asOf is the second of the call: the two pipelines may straddle one.
    return reply.status, re.sub(rb"asOf>[^<]+<", b"asOf>T<", reply.body)


def test_the_pipeline_answers_alike_with_and_without_the_direct_writer(
        store: TrafficStore, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    asyncio.run(store.report([
        domain.Observation(f"s{i}", seg, now - dt.timedelta(seconds=i * 7), 10.0 + i * 3.3)
        for i, seg in enumerate(["192-EB-01", "192-EB-02", "192-EB-01", "217-NB-01"])]))

    def pipeline(direct: bool) -> Pipeline:
        cache = ResponseCache(store.answer_version, key_version=store_key_version(store))
        runner = SpyneRunner(
            build_application(store), load=OperationLoader(store), cache=cache,
            travel_times=functools.partial(travel_times, store) if direct else None)
        return Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                        runner=runner, before_operation=[])

    spyne, direct = pipeline(False), pipeline(True)
    for highway, direction in [("192", None), ("192", "EB"), ("217", "NB"), ("5", None),
                               ("9999", None), ("192", "NB")]:
        expected = _read(spyne, highway, direction)
        assert _read(direct, highway, direction) == expected
        assert expected[0] in (200, 500)  # unknown highway/direction: the same fault


def test_a_writer_that_differs_from_spyne_is_disabled_not_fatal(
        store: TrafficStore, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from soap_service.soap import direct_read

    monkeypatch.setattr(direct_read, "_double", lambda value: f"{value:.3f}")
    runner = SpyneRunner(build_application(store), load=OperationLoader(store),
                         travel_times=functools.partial(travel_times, store))
    assert runner._travel_answer is None  # noqa: SLF001 - Spyne's path serves every miss
    assert "direct GetTravelTimes writer disabled" in caplog.text
