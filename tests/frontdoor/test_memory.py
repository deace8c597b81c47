"""Memory stays bounded: 50 MB bodies (with Content-Length, and chunked) barely move the
server's resident memory, because nothing past the 1 MiB cap is ever kept or spooled."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.conftest import RunningServer, start_server
from tests.frontdoor import rawhttp
from tests.frontdoor.catalogue import VALID, soap

FIFTY_MB = 50 * 1024 * 1024
ALLOWED_GROWTH_KB = 4 * 1024


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _stream(port: int, head: bytes, chunks: int, framed: bool) -> rawhttp.Response | None:
    """Send `head`, then up to 50 MB in 1 MiB pieces until the server closes; read the answer."""
    sock = rawhttp.connect(port, timeout=30)
    piece = b"<" * (1024 * 1024)
    if framed:
        piece = b"100000\r\n" + piece + b"\r\n"
    answer: list[rawhttp.Response | None] = [None]
    reader = threading.Thread(target=lambda: answer.__setitem__(0, rawhttp.read_response(sock)))
    reader.start()
    rawhttp.send_all(sock, [head, *(piece for _ in range(chunks))])
    reader.join(30)
    sock.close()
    return answer[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> RunningServer:
    running = start_server(tmp_path_factory.mktemp("memory"), "--no-require-auth")
    yield running
    running.stop()


def _warm_up(server: RunningServer) -> None:
    for _ in range(20):
        assert rawhttp.request(server.port, soap(VALID)).status == 200
    head = (b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    _stream(server.port, head, 3, framed=True)
    time.sleep(0.5)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_fifty_megabytes_do_not_grow_resident_memory(server, framing):
    _warm_up(server)
    before = rss_kb(server.pid)
    if framing == "content-length":
        head = (f"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                f"Content-Length: {FIFTY_MB}\r\n\r\n").encode()
        answer = _stream(server.port, head, 50, framed=False)
    else:
        head = (b"POST /soap HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        answer = _stream(server.port, head, 50, framed=True)
    assert answer is not None and answer.status == 413
    assert answer.faultcode == "soap:Client.RequestTooLarge"
    time.sleep(0.5)
    grown = rss_kb(server.pid) - before
    print(f"{framing}: RSS {before} KiB -> grew {grown} KiB")
    assert grown < ALLOWED_GROWTH_KB, f"RSS grew by {grown} KiB"
    assert rawhttp.request(server.port, soap(VALID)).status == 200
