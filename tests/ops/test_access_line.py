"""The access line written without a LogRecord (AccessHandler.write_fields) is the line the
logging path writes for the same answer, in both formats; anything else listening on the
access logger (another handler, a filter) gets the record through logging as before."""

from __future__ import annotations

import io
import json
import logging
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
