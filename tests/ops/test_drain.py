"""SIGTERM/SIGINT drain against the real server: every request in flight is answered in full,
every acknowledged batch is stored, keep-alive connections are closed, exit 0."""

from __future__ import annotations

import datetime as dt
import http.client
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import RunningServer, start_server
from tests.soap_helpers import envelope

CLIENTS = 8
ROUNDS = 12
BATCH = 1000


def _batch(sensor: str) -> bytes:
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items = "".join(
        f"<t:observation><t:sensorId>{sensor}-{i}</t:sensorId><t:segmentId>225-NB-02"
        f"</t:segmentId><t:observedAt>{at}</t:observedAt><t:speedKph>61.5</t:speedKph>"
        "</t:observation>"
        for i in range(BATCH)
    )
    return envelope(f"<t:ReportObservations>{items}</t:ReportObservations>")


def _stored(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])


class _Client(threading.Thread):
    """One keep-alive connection sending one large batch; records what came back."""

    def __init__(self, server: RunningServer, body: bytes, sent: threading.Barrier) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.conn.connect()
        self.body = body
        self.sent = sent
        self.status: int | None = None
        self.answer = b""
        self.connection_header: str | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            self.conn.request("POST", "/soap", body=self.body,
                              headers={"Content-Type": "text/xml; charset=utf-8"})
            self.sent.wait(10)
            response = self.conn.getresponse()
            self.status = response.status
            self.connection_header = response.getheader("Connection")
            self.answer = response.read()
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            self.error = exc
            try:
                self.sent.wait(0)
            except threading.BrokenBarrierError:
                pass
        finally:
            self.conn.close()


def _round(tmp_path: Path, number: int, sig: int) -> None:
    workdir = tmp_path / f"round-{number}"
    workdir.mkdir()
    server = start_server(workdir, "--no-require-auth", "--rate-limit", "*=unlimited",
                          "--ip-rate-limit", "unlimited", "--shutdown-grace", "20")
    try:
        # An idle keep-alive connection that has been used once: it must not hold up the exit.
        idle = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        idle.request("GET", "/healthz")
        assert idle.getresponse().read()
        sent = threading.Barrier(CLIENTS + 1)
        clients = [_Client(server, _batch(f"r{number}c{i}"), sent) for i in range(CLIENTS)]
        for client in clients:
            client.start()
        sent.wait(10)  # every batch is on the wire
        time.sleep(0.01 * (number % 5))  # vary where in the work the signal lands
        server.process.send_signal(sig)
        for client in clients:
            client.join(40)
        code = server.process.wait(40)
        assert code == 0, server.log_text()[-2000:]
        acknowledged = 0
        for client in clients:
            assert client.error is None, (client.error, server.log_text()[-2000:])
            assert client.status == 200, client.answer[:300]
            assert client.answer.rstrip().endswith(b"</soap11env:Envelope>"), client.answer[-200:]
            assert f"<tns:accepted>{BATCH}</tns:accepted>".encode() in client.answer
            acknowledged += 1
        assert _stored(server.db_path) == acknowledged * BATCH
        idle.close()
    finally:
        server.stop(signal.SIGKILL)


def test_sigterm_answers_every_request_in_flight_and_stores_every_batch(
    tmp_path: Path,
) -> None:
    for number in range(ROUNDS):
        _round(tmp_path, number, signal.SIGTERM)


def test_sigint_drains_the_same_way(tmp_path: Path) -> None:
    _round(tmp_path, 0, signal.SIGINT)


def test_request_still_arriving_is_answered_with_connection_close(
    server_factory,  # type: ignore[no-untyped-def]
) -> None:
    server = server_factory("--no-require-auth")
    body = _batch("ka")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/soap")
    conn.putheader("Content-Type", "text/xml; charset=utf-8")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body[:1000])  # half a request on the wire when the signal comes
    time.sleep(0.2)
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert server.process.poll() is None  # still waiting for this request
    conn.send(body[1000:])
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Connection") == "close"  # the connection's last answer
    assert b"<tns:accepted>1000</tns:accepted>" in response.read()
    assert server.process.wait(30) == 0
    assert "drained" in server.log_text()
    assert _stored(server.db_path) == BATCH


def test_grace_period_bounds_the_drain(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--no-require-auth", "--shutdown-grace", "0.5")
    # A request whose body never completes: the drain waits for it only until the grace ends.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/soap")
    conn.putheader("Content-Type", "text/xml; charset=utf-8")
    conn.putheader("Content-Length", "1000")
    conn.endheaders(b"<s:Envelope")
    time.sleep(0.2)
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    code = server.process.wait(20)
    assert time.monotonic() - started < 10
    assert code == 1
    assert "grace period over" in server.log_text()
    conn.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM])
def test_no_connection_exits_at_once(server_factory, sig: int) -> None:  # type: ignore[no-untyped-def]
    server = server_factory("--no-require-auth")
    started = time.monotonic()
    assert server.stop(sig) == 0
    assert time.monotonic() - started < 5
