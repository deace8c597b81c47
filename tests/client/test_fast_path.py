"""The client's lean path for reads (client/fast_reads.py, client/direct_http.py) gives the
same results and the same errors as zeep's full path."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from client import errors
from client.client import HighwayClient
from client.direct_http import DirectPoster, usable_for
from client.fast_reads import FastRead
from client.models import Observation
from tests.conftest import RunningServer


class _NoOpPlugin:
    """Any plugin switches the lean path off (plugins must see every answer)."""

    def ingress(self, envelope, http_headers, operation):  # type: ignore[no-untyped-def]
        return envelope, http_headers

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        return envelope, http_headers


def test_lean_and_zeep_paths_give_equal_models(open_server: RunningServer) -> None:
    lean = HighwayClient(url=open_server.url)
    full = HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()])
    assert isinstance(lean._operations["GetTravelTimes"], FastRead)
    assert not isinstance(full._operations["GetTravelTimes"], FastRead)
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=5)
    lean.report_observations([Observation("fast-1", "217-NB-02", at, 33.5)])
    (nb,) = lean.travel_times("217", "NB")
    assert nb.segments[1].observed_at == at and nb.segments[0].observed_at is None
    assert lean.list_highways() == full.list_highways()
    for highway, direction in (("217", "NB"), ("192", None), ("I-225", "sb")):
        a, b = lean.travel_times(highway, direction), full.travel_times(highway, direction)
        # as_of is the server's clock (whole seconds): it may tick between the two calls
        assert [dataclasses.replace(t, as_of=b[0].as_of) for t in a] == b


def test_faults_are_the_same_on_the_lean_path(open_server: RunningServer) -> None:
    with pytest.raises(errors.UnknownHighwayError) as lean:
        HighwayClient(url=open_server.url).travel_times("999")
    with pytest.raises(errors.UnknownHighwayError) as full:
        HighwayClient(url=open_server.url, plugins=[_NoOpPlugin()]).travel_times("999")
    assert lean.value.http_status == full.value.http_status == 500
    assert str(lean.value) == str(full.value)
    with pytest.raises(errors.ValidationError):
        HighwayClient(url=open_server.url).travel_times("not a highway")


def test_only_plain_unproxied_http_takes_the_direct_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert usable_for("http://127.0.0.1:8080/soap")
    assert not usable_for("https://127.0.0.1:8443/soap")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    assert not usable_for("http://traffic.example/soap")
    monkeypatch.setenv("NO_PROXY", "traffic.example")
    assert usable_for("http://traffic.example/soap")


class _ClosingHandler(http.server.BaseHTTPRequestHandler):
    """Answers, then drops the connection without saying so (an idle keep-alive timeout)."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def closing_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/soap"
    server.shutdown()
    server.server_close()


def test_a_stale_kept_alive_connection_is_replaced(closing_server: str) -> None:
    poster = DirectPoster(closing_server, timeout=5.0)
    for _ in range(3):  # every reuse finds the connection closed by the server
        response = poster.post(b"<x/>", {"Content-Type": "text/xml"})
        assert (response.status_code, response.content) == (200, b"ok")
    poster.close()


def test_no_answer_is_a_timeout_error() -> None:
    with socket.socket() as listener:  # accepts (via the backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/soap"
        client = HighwayClient(url=url, timeout=0.5)
        with pytest.raises(errors.TimeoutError):
            client.travel_times("217")
