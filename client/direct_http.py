"""A lean POST for plain-HTTP endpoints: one kept-alive http.client connection per thread.

requests costs ~0.8 ms of CPU per call here (environment and proxy look-ups, adapters, hooks,
urllib3's pool), several times the raw POST it wraps. For the client's own session on an
http:// URL with no proxy configured none of that machinery does anything, so the transport
posts directly and hands zeep a requests.Response built from the answer. Errors are raised
as the requests exceptions the client already maps (Timeout, ConnectionError).
HTTPS, proxies and caller-supplied sessions keep the requests path (see HighwayTransport).
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
import urllib.request

import requests
from requests.structures import CaseInsensitiveDict

from client.compat import OneWriteConnection, set_body

# A stale kept-alive connection (closed by the server while idle) fails like this on reuse.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def usable_for(url: str) -> bool:
    """True for an http:// URL that no proxy setting in the environment applies to."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    proxies = urllib.request.getproxies()
    return "http" not in proxies or urllib.request.proxy_bypass(parts.netloc) is True


class DirectPoster:
    """POSTs to one http:// endpoint over a per-thread keep-alive connection."""

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.url = url
        self._host = parts.hostname or ""
        self._port = parts.port or 80
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout = timeout
        self._local = threading.local()

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it was already open (kept alive)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        conn = OneWriteConnection(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        conn.connect()
        # No Nagle delay for a request that does not fit one segment (urllib3 does the same).
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, False

    def close(self) -> None:
        """Close this thread's connection (other threads' close with their sockets)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def post(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        """POST `body`; one retry on a fresh connection if the kept-alive one went stale."""
        for attempt in (1, 2):
            reused = False
            try:
                conn, reused = self._connection()
                conn.request("POST", self._path, body=body, headers=headers)
                answer = conn.getresponse()
                content = answer.read()
            except TimeoutError as exc:
                self.close()
                raise requests.Timeout(f"no answer within {self._timeout}s") from exc
            except _STALE as exc:
                self.close()
                if reused and attempt == 1:
                    continue  # the server closed an idle connection: reconnect once
                raise requests.ConnectionError(str(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise requests.ConnectionError(str(exc)) from exc
            if answer.will_close:
                self.close()
            return _response(self.url, answer, content)
        raise AssertionError("unreachable")


def _response(url: str, answer: http.client.HTTPResponse, content: bytes) -> requests.Response:
    """The answer as the requests.Response zeep expects."""
    response = requests.Response()
    response.status_code = answer.status
    response.reason = answer.reason
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in answer.getheaders():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value  # as requests
    response.headers = headers
    set_body(response, content)
    response.url = url
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    return response
