"""A tiny raw-socket HTTP/1.1 client for hostile-input tests: send exact bytes, read the answer."""

from __future__ import annotations

import dataclasses
import re
import socket
import time
import weakref
from collections.abc import Iterable

FAULTCODE = re.compile(rb"<faultcode>([^<]*)</faultcode>")


@dataclasses.dataclass
class Response:
    """One HTTP response as read off the wire."""

    status: int
    headers: dict[str, str]
    body: bytes
    raw_head: bytes

    @property
    def faultcode(self) -> str | None:
        """The SOAP faultcode in the body, if any."""
        match = FAULTCODE.search(self.body)
        return match.group(1).decode() if match else None


def connect(port: int, timeout: float = 10.0, source: str | None = None) -> socket.socket:
    """A TCP connection to 127.0.0.1:port (optionally from another loopback address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    if source is not None:
        sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def send_all(sock: socket.socket, parts: Iterable[bytes | float]) -> bool:
    """Send byte parts (a float means: sleep that long); False if the server closed first."""
    try:
        for part in parts:
            if isinstance(part, float):
                time.sleep(part)
            else:
                sock.sendall(part)
    except OSError:
        return False
    return True


_LEFTOVER: weakref.WeakKeyDictionary[socket.socket, bytes] = weakref.WeakKeyDictionary()


def _recv(sock: socket.socket) -> bytes:
    pending = _LEFTOVER.pop(sock, b"")
    return pending if pending else sock.recv(65536)


def read_response(sock: socket.socket) -> Response | None:
    """Read one response (Content-Length framed); None if the connection closed before one.

    Bytes past the response (a pipelined next response) are kept for the next call.
    """
    data = b""
    try:
        while True:
            while b"\r\n\r\n" not in data:
                chunk = _recv(sock)
                if not chunk:
                    return None
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split()[1])
            if status != 100:  # skip an interim 100 Continue
                break
            data = rest
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.decode().strip().lower()] = value.decode().strip()
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = _recv(sock)
            if not chunk:
                break
            rest += chunk
        if len(rest) > length:
            _LEFTOVER[sock] = rest[length:]
        return Response(status, headers, rest[:length], head)
    except (ConnectionResetError, TimeoutError):
        return None


def request(port: int, parts: Iterable[bytes | float], timeout: float = 10.0) -> Response | None:
    """Open a connection, send `parts`, read one response, close."""
    sock = connect(port, timeout)
    try:
        send_all(sock, parts)
        return read_response(sock)
    finally:
        sock.close()


def post(path: str, body: bytes, headers: dict[str, str] | None = None,
         content_type: str | None = "text/xml; charset=utf-8") -> bytes:
    """The bytes of a POST request with Content-Length."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(body_chunks: Iterable[bytes]) -> bytes:
    """A chunked body: each chunk framed, then the last-chunk."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in body_chunks if c)
    return out + b"0\r\n\r\n"
