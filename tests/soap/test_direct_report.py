"""The direct ReportObservations path (soap/direct_report.py) against Spyne's own: the same
objects, the same answers and the same faults for the same input."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import random
import re
import sqlite3
from pathlib import Path

import pytest
from lxml import etree

from soap_service import domain
from soap_service.core.exchange import Exchange, TransportInfo
from soap_service.core.pipeline import Pipeline
from soap_service.frontdoor.settings import FrontDoorSettings
from soap_service.frontdoor.xml_guard import XmlGuard
from soap_service.soap import direct_report
from soap_service.soap.direct_report import bind_observations
from soap_service.soap.runner import SpyneRunner
from soap_service.soap.service import OperationLoader, build_application, report_batch
from soap_service.store.traffic_store import TrafficStore, open_traffic_store
from tests.core.test_schema_edge_values import CASES, body_for
from tests.soap_helpers import envelope

TNS = "urn:highway-traffic:v1"
SEGMENTS = ("192-EB-01", "192-EB-02", "217-NB-01", "nope-1")


def _pipeline(store: TrafficStore, *, direct: bool) -> Pipeline:
    runner = SpyneRunner(build_application(store), load=OperationLoader(store),
                         report=functools.partial(report_batch, store) if direct else None)
    return Pipeline(before_parse=[], guard=XmlGuard.from_settings(FrontDoorSettings()),
                    runner=runner, before_operation=[])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("direct"))


@pytest.fixture(scope="module")
def pipelines(base: Path) -> tuple[Pipeline, Pipeline]:
    """(Spyne's path, the direct path), each on its own database with the same history."""
    return (_pipeline(open_traffic_store(str(base / "spyne.db")), direct=False),
            _pipeline(open_traffic_store(str(base / "direct.db")), direct=True))


def _stored(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT sensor_id, observed_at_ms, segment_id, speed_kph "
                            "FROM observations ORDER BY sensor_id, observed_at_ms").fetchall()


def _handle(pipeline: Pipeline, body: bytes) -> tuple[int, bytes]:
    exchange = Exchange(correlation_id="cid-same", method="POST", path="/soap",
                        headers={"content-type": "text/xml; charset=utf-8"}, body=body,
                        transport=TransportInfo("127.0.0.1"))
    reply = asyncio.run(pipeline.handle(exchange))
    return reply.status, reply.body


def _timestamp(rng: random.Random, now: dt.datetime) -> str:
    """A schema-valid observedAt in one of the forms clients send."""
    moment = now - dt.timedelta(seconds=rng.uniform(-200, 6 * 86400))
    minutes = rng.choice([0, 0, 30, 45, 330, -330, -30, -210, 600, -600])
    local = moment + dt.timedelta(minutes=minutes)
    zone = ("Z" if minutes == 0 and rng.random() < 0.5 else
            f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")
    fraction = rng.choice(["", ".5", ".123", ".123456", ".1234567", ".9999996", ".000001"])
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + fraction + zone
    return f"  {text}\n" if rng.random() < 0.1 else text


def _speed(rng: random.Random) -> str:
    return rng.choice(["0", "300", "50.5", " 12.25 ", "+3", ".5", "7.", "099.90",
                       f"{rng.uniform(0, 300):.2f}", str(rng.randint(0, 300))])


def _written(rng: random.Random, text: str) -> str:
    """The same text in one of the ways XML may spell it: plain, CDATA, a character
    reference, split by a comment or by CDATA (the binding must read them all as one)."""
    if len(text) < 2 or rng.random() < 0.6:
        return text
    cut = rng.randrange(1, len(text))
    head, tail = text[:cut], text[cut:]
    return rng.choice([
        f"<![CDATA[{text}]]>",
        f"{head}<!-- a comment -->{tail}",
        f"{head}<![CDATA[{tail}]]>",
        f"{head[:-1]}&#{ord(head[-1])};{tail}",
        f"<!---->{head}&#x{ord(tail[0]):x};{tail[1:]}",
    ])


def _batch(rng: random.Random, now: dt.datetime, n: int) -> bytes:
    items = []
    for _ in range(n):
        sensor = rng.choice(["s1", "loop-17", "a.b:c-d_", "Z9", f"r{rng.randint(0, 50)}"])
        segment = rng.choice(SEGMENTS[:3]) if rng.random() > 0.02 else SEGMENTS[3]
        gap = rng.choice(["", "", "\n  ", "<!-- between -->"])  # between elements
        fields = [("sensorId", sensor), ("segmentId", segment),
                  ("observedAt", _timestamp(rng, now)), ("speedKph", _speed(rng))]
        items.append(f"<t:observation>{gap}" + "".join(
            f"<t:{name}>{_written(rng, value)}</t:{name}>{gap}" for name, value in fields)
            + "</t:observation>" + gap)
    return envelope(f"<t:ReportObservations>{''.join(items)}</t:ReportObservations>")


def test_random_batches_get_the_same_answers_faults_and_rows(
        pipelines: tuple[Pipeline, Pipeline], base: Path) -> None:
    spyne, direct = pipelines
    rng = random.Random(20261203)
    now = dt.datetime.now(dt.UTC)
    outcomes = set()
    for _ in range(60):
        body = _batch(rng, now, rng.choice([1, 2, 5, 40]))
        expected, got = _handle(spyne, body), _handle(direct, body)
        assert got == expected, body[:400]
        outcomes.add((got[0], re.sub(rb"\d+", b"N", got[1][-200:])))
    assert len(outcomes) >= 3  # accepted, duplicates and refusals were all exercised
    stored = _stored(base / "direct.db")
    assert len(stored) > 300 and stored == _stored(base / "spyne.db")


@pytest.mark.parametrize(("field", "value"), [c for c in CASES if c[0] != "highway"
                                              and c[0] != "direction"])
def test_every_schema_edge_value_gets_the_same_answer(
        pipelines: tuple[Pipeline, Pipeline], field: str, value: str) -> None:
    spyne, direct = pipelines
    body = envelope(body_for(field, value))
    assert _handle(direct, body) == _handle(spyne, body)


def test_bound_objects_are_spynes(pipelines: tuple[Pipeline, Pipeline]) -> None:
    """Item by item, what the direct binding reads equals what Spyne deserializes."""
    spyne, _ = pipelines
    runner = spyne._runner  # noqa: SLF001 - the test compares the two bindings directly
    rng = random.Random(7)
    now = dt.datetime.now(dt.UTC)
    guard = XmlGuard.from_settings(FrontDoorSettings())
    for _ in range(20):
        exchange = Exchange(correlation_id="c", method="POST", path="/soap", headers={},
                            body=_batch(rng, now, 25), transport=TransportInfo("127.0.0.1"))
        guard.parse(exchange)
        prepared = runner.prepare(exchange)  # validates and normalizes, as served
        assert prepared.request is not None
        # The one-call read (not the element-by-element fallback) handles every spelling.
        assert len(direct_report._FIELD_TEXTS(prepared.request)) == 4 * 25  # noqa: SLF001
        ours = bind_observations(prepared.request)
        ctx = runner._spyne_prepare(exchange.envelope)  # noqa: SLF001
        theirs = [domain.Observation(o.sensorId, o.segmentId, o.observedAt, float(o.speedKph))
                  for o in ctx.in_object[0]]
        assert ours == theirs


def test_negative_offsets_with_minutes_are_read_as_written() -> None:
    """Spyne 2.14 reads -05:30 as -04:30; both paths now see UTC, so the instant is right."""
    from soap_service.soap.lexical import normalize_datetimes

    element = etree.Element(f"{{{TNS}}}observedAt")
    element.text = "2026-01-15T07:30:00.25-05:30"
    normalize_datetimes([element], frozenset({element.tag}))
    assert element.text == "2026-01-15T13:00:00.25Z"
    for written, utc in (("2026-01-15T00:10:00-00:30", "2026-01-15T00:40:00Z"),
                         ("2026-01-15T00:10:00+00:30", "2026-01-14T23:40:00Z"),
                         ("2026-01-14T24:00:00-03:30", "2026-01-15T03:30:00Z")):
        element.text = written
        normalize_datetimes([element], frozenset({element.tag}))
        assert element.text == utc
