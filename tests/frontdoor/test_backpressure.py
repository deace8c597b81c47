"""Bounded memory per connection: a client that pipelines requests and never reads its answers
cannot grow the server's resident memory, on the GET path (the WSDL) and the SOAP POST path;
the server stops reading that connection and keeps serving everyone else."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from tests.conftest import RunningServer, start_server
from tests.frontdoor import rawhttp
from tests.frontdoor.catalogue import VALID, soap
from tests.frontdoor.test_memory import rss_kb

RESPONSE_BYTES_WORTH = 100 * 1024 * 1024  # what the pipelined requests would make us buffer
ALLOWED_GROWTH_KB = 30 * 1024
WSDL_GET = b"GET /soap?wsdl HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("backpressure"), "--no-require-auth",
                           "--idle-timeout", "60", "--ip-rate-limit", "unlimited")
    yield running
    running.stop()


def _answer_size(server: RunningServer, request: bytes) -> int:
    sock = rawhttp.connect(server.port)
    try:
        rawhttp.send_all(sock, [request])
        answer = rawhttp.read_response(sock)
    finally:
        sock.close()
    assert answer is not None and answer.status == 200
    return len(answer.raw_head) + 4 + len(answer.body)


def _pipeline_without_reading(port: int, request: bytes, count: int) -> tuple[socket.socket, int]:
    """Send up to `count` copies of `request` without ever reading; stop once the server stops
    taking bytes for 3 s (it stopped reading). Returns the open socket and requests sent."""
    sock = rawhttp.connect(port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # our side buffers little
    sock.setblocking(False)
    batch = request * 64
    sent = 0
    pending = memoryview(batch)
    stalled_since: float | None = None
    while sent < count * len(request):
        try:
            n = sock.send(pending)
        except BlockingIOError:
            if stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > 3.0:
                break
            time.sleep(0.01)
            continue
        stalled_since = None
        sent += n
        pending = pending[n:]
        if not pending:
            pending = memoryview(batch)
    return sock, sent // len(request)


@pytest.mark.parametrize("path", ["wsdl-get", "soap-post"])
def test_a_never_reading_pipelining_client_cannot_grow_memory(server, path):
    request = WSDL_GET if path == "wsdl-get" else soap(VALID)[0]
    assert isinstance(request, bytes)
    per_answer = _answer_size(server, request)
    count = RESPONSE_BYTES_WORTH // per_answer + 1
    for _ in range(5):
        _answer_size(server, request)  # warm caches before the baseline
    before = rss_kb(server.pid)
    sock, sent = _pipeline_without_reading(server.port, request, count)
    time.sleep(1.0)
    grown = rss_kb(server.pid) - before
    print(f"{path}: {sent} of {count} requests taken ({per_answer} B answers), "
          f"RSS grew {grown} KiB")
    # The requests sent ask for >= 100 MB of answers (kernel buffers take them in), yet the
    # server, having stopped reading, holds little more than one send buffer of them...
    assert sent == count or sent > 1000
    assert grown < ALLOWED_GROWTH_KB, f"RSS grew by {grown} KiB"
    # ...and keeps serving another client meanwhile.
    assert _answer_size(server, request) == per_answer
    assert rawhttp.request(server.port, soap(VALID)).status == 200
    sock.close()


def test_a_slow_reader_still_gets_every_pipelined_answer_in_order(server):
    """Backpressure pauses, it does not drop: every answer arrives once the client reads."""
    sock = rawhttp.connect(server.port, timeout=20)
    requests = 300
    rawhttp.send_all(sock, [WSDL_GET * requests])
    time.sleep(1.0)  # the server fills its buffer and stops
    for _ in range(requests):
        answer = rawhttp.read_response(sock)
        assert answer is not None and answer.status == 200
        assert answer.body.rstrip().endswith(b"definitions>")
    sock.close()
