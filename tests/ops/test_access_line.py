"""The access line written without a LogRecord (AccessHandler.write_fields) is the line the
logging path writes for the same answer, in both formats; anything else listening on the
access logger (another handler, a filter) gets the record through logging as before."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
import re
from collections.abc import Callable, Iterator

import pytest

from soap_service.core.exchange import Exchange, Reply, TransportInfo
from soap_service.faults import ServiceFault
from soap_service.frontdoor.refusal_log import TokenBucket, refusal_filter
from soap_service.ops import access_log, logs
from soap_service.ops.settings import OpsSettings

ACCESS = logging.getLogger(logs.ACCESS_LOGGER)


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], io.StringIO]]:
    """configure_logging(format) onto a StringIO, as the server does onto stderr."""
    saved = ACCESS.handlers[:], ACCESS.filters[:], ACCESS.propagate

    def configure(log_format: str) -> io.StringIO:
        out = io.StringIO()
        # Patched in the test itself: pytest re-installs its own stderr between phases.
        monkeypatch.setattr("sys.stderr", out)
        logs.configure_logging(OpsSettings(log_format=log_format))
        return out

    yield configure
    ACCESS.handlers, ACCESS.filters, ACCESS.propagate = saved[0], saved[1], saved[2]
    logging.basicConfig(force=True)


def _answer(fault: ServiceFault | None = None, status: int = 200) -> None:
    exchange = Exchange("cid-1", "POST", "/soap", {}, b"<x/>" * 10,
                        TransportInfo("192.0.2.1"), operation="GetTravelTimes")
    exchange.notes["auth"] = "digest"
    access_log.AccessLog().completed(exchange, Reply(status, b"a" * 33), fault)


def _both_paths(out: io.StringIO) -> tuple[str, str]:
    """One line by the direct path, then one by logging (a pass-through filter on the
    handler makes AccessLog use logging)."""
    assert access_log._direct_handler(logging.INFO) is not None
    _answer()
    ACCESS.handlers[0].addFilter(lambda record: True)
    assert access_log._direct_handler(logging.INFO) is None
    _answer()
    direct, general = out.getvalue().splitlines()
    return direct, general


def test_json_lines_are_the_same_on_both_paths(configure: Callable[[str], io.StringIO]) -> None:
    stream = configure("json")
    direct, general = _both_paths(stream)
    one, two = json.loads(direct), json.loads(general)
    time_pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(time_pattern, one.pop("time")) and re.fullmatch(time_pattern,
                                                                         two.pop("time"))
    one.pop("duration_ms"), two.pop("duration_ms")
    assert one == two
    assert list(one)[:4] == ["level", "logger", "event", "correlation_id"]
    assert one["status"] == 200 and one["bytes_out"] == 33 and one["auth"] == "digest"


def test_text_lines_are_the_same_on_both_paths(configure: Callable[[str], io.StringIO]) -> None:
    stream = configure("text")
    direct, general = _both_paths(stream)
    pattern = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO highway.access "
    assert re.match(pattern, direct) and re.match(pattern, general)
    strip = re.compile(r"^\S+ \S+ | duration_ms=\S+")
    assert strip.sub("", direct) == strip.sub("", general)


def test_other_listeners_get_records(configure: Callable[[str], io.StringIO]) -> None:
    stream = configure("json")
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    ACCESS.addHandler(Keep())
    _answer()
    assert len(seen) == 1 and getattr(seen[0], logs.ACCESS_ATTR)["status"] == 200
    assert len(stream.getvalue().splitlines()) == 1  # and our handler still wrote its line


@pytest.mark.parametrize("status", [429, 500, 400, 413])
def test_client_faults_still_go_through_the_refusal_bucket(
        configure: Callable[[str], io.StringIO], status: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Any client fault, flood status or not (an XML refusal is a 500), is rate limited.
    stream = configure("json")
    monkeypatch.setattr(refusal_filter(), "bucket", TokenBucket(rate=1.0, burst=10,
                                                                clock=lambda: 0.0))
    for _ in range(200):
        _answer(ServiceFault("soap:Client.DTDNotAllowed", "no", http_status=status), status)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10  # the burst of the shared token bucket, the rest dropped


class _CountingStream(io.StringIO):
    """A stream that counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def test_lines_of_one_loop_pass_leave_in_one_write_in_order(
        configure: Callable[[str], io.StringIO]) -> None:
    """On the event loop, the access lines of one pass (direct and through logging alike)
    are written together once the pass is done, in the order they were made; without a
    running loop each line is written at once; flush() writes what is pending."""
    configure("json")
    handler = ACCESS.handlers[0]
    assert isinstance(handler, logs.AccessHandler)
    stream = _CountingStream()
    handler.setStream(stream)

    async def one_pass() -> tuple[int, int]:
        for index in range(5):
            handler.write_fields(logging.INFO, logs.ACCESS_LOGGER, {"n": index})
            ACCESS.info("request", extra={logs.ACCESS_ATTR: {"m": index}})
        during = stream.writes
        await asyncio.sleep(0)  # the loop's next pass
        return during, stream.writes

    during, after = asyncio.run(one_pass())
    assert (during, after) == (0, 1)
    order = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line.get("n"), line.get("m")) for line in order] == [
        pair for index in range(5) for pair in ((index, None), (None, index))]

    handler.write_fields(logging.INFO, logs.ACCESS_LOGGER, {"n": 99})  # no running loop
    assert stream.writes == 2 and stream.getvalue().endswith('"n": 99}\n')

    async def left_pending() -> None:
        handler.write_fields(logging.INFO, logs.ACCESS_LOGGER, {"n": 100})

    asyncio.run(left_pending())  # the loop closed before its next pass ran
    asyncio.run(one_pass())  # the next loop writes it, and its own pass, in order
    assert stream.getvalue().endswith('"m": 4}\n') and '"n": 100}' in stream.getvalue()
    asyncio.run(left_pending())
    handler.flush()  # what logging does at exit
    assert stream.getvalue().endswith('"n": 100}\n')
    big = {"filler": "x" * (logs.AccessHandler.PENDING_LIMIT // 2)}

    async def large() -> int:
        before = stream.writes
        for _ in range(3):
            handler.write_fields(logging.INFO, logs.ACCESS_LOGGER, big)
        return stream.writes - before

    assert asyncio.run(large()) >= 1  # a pass's lines past the limit leave without waiting


class _Odd:
    def __str__(self) -> str:
        return "odd \u00e9 value"


def test_json_access_line_is_what_json_dumps_writes() -> None:
    # The line is written directly for the usual field types; every value and name of any
    # other kind falls back to json.dumps. Either way the text is json.dumps's, byte for byte.
    rng = random.Random(5)
    values: list[object] = [
        None, "", "plain", 'quote " and \\ backslash', "ctl \x00\x1f\x7f", "\u00e9\u4e2d",
        "\U0001F600", "\ud800", 0, -1, 2**70, -(2**70), True, False, 0.0, -0.0, 0.34, 1e300, 1e-300,
        float("nan"), float("inf"), float("-inf"), b"bytes", [1, "a"], {"k": 1}, _Odd(),
    ]
    names: list[object] = ["status", "peer", "reason", "x\u00e9", 'q"uote', "time", "event", 7]
    formatter = logs.JsonFormatter()
    direct = 0
    for _ in range(3000):
        fields = {rng.choice(names): rng.choice(values) for _ in range(rng.randint(0, 8))}
        created = rng.uniform(0, 4e9)
        level = rng.choice(["INFO", "DEBUG", "WARNING"])
        logger = rng.choice(["highway.access", "x\u00e9"])
        expected = json.dumps({"time": logs._iso_time(created), "level": level, "logger": logger,
                               "event": "request", **fields}, default=str)
        assert formatter.access_line(created, level, logger, fields) == expected, fields
        written = logs._access_json(logs._iso_time(created), level, logger, fields)  # type: ignore[arg-type]
        direct += written is not None
    assert 100 < direct < 2900
