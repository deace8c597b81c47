"""Telling an https:// URL that points at a plain-HTTP port, quickly and without guessing.

A plain HTTP server sent a TLS ClientHello waits for a request line that never comes, so the
handshake hangs until a timeout and then fails with an opaque SSL error. `speaks_plain_http`
sends a tiny plain request instead (only after a TLS handshake did not succeed promptly): a
plain server answers "HTTP/..." at once, a TLS server drops it. Only a literal HTTP answer
counts, so a slow or picky TLS server is never mistaken for a plain one.
"""

from __future__ import annotations

import socket
import ssl
import urllib.parse
import urllib.request

HANDSHAKE_WAIT = 0.5  # seconds a TLS handshake may take before the plain probe is tried
PLAIN_HINT = "the server speaks plain HTTP; use {url}"


def plain_url(url: str) -> str:
    """The same URL with http:// (and the same port)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or 443
    return urllib.parse.urlunsplit(("http", f"{parts.hostname}:{port}", parts.path,
                                    parts.query, parts.fragment))


def _endpoint(url: str) -> tuple[str, int] | None:
    """(host, port) of an https:// URL reached directly; None otherwise (also via a proxy:
    a probe around the proxy would test another path, or hang at a firewall)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    if "https" in urllib.request.getproxies() and urllib.request.proxy_bypass(
            parts.netloc) is not True:
        return None
    try:
        return parts.hostname, parts.port or 443
    except ValueError:
        return None


def answers_plain_http(url: str, timeout: float) -> bool:
    """True when the URL's port answers a plain HTTP request with an HTTP status line."""
    endpoint = _endpoint(url)
    if endpoint is None:
        return False
    try:
        with socket.create_connection(endpoint, timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: " + endpoint[0].encode("idna")
                         + b"\r\n\r\n")
            return sock.recv(5) == b"HTTP/"
    except (OSError, UnicodeError):
        return False


def speaks_plain_http(url: str, timeout: float,
                      client_cert: tuple[str, str | None] | None = None) -> bool:
    """For an https:// URL: True when its port speaks plain HTTP instead of TLS.

    A TLS handshake is tried first (the server's certificate is not checked here: the real
    call does that; `client_cert` is presented so a server requiring one has nothing to log);
    only when it fails or takes longer than HANDSHAKE_WAIT is the plain probe sent."""
    endpoint = _endpoint(url)
    if endpoint is None:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if client_cert is not None:
        try:
            context.load_cert_chain(client_cert[0], client_cert[1])
        except (OSError, ssl.SSLError):
            pass  # the real call reports an unusable certificate
    try:
        with socket.create_connection(endpoint, timeout=timeout) as sock:
            sock.settimeout(min(timeout, HANDSHAKE_WAIT))
            with context.wrap_socket(sock, server_hostname=endpoint[0]):
                return False  # a TLS server
    except (ssl.SSLError, TimeoutError, ConnectionResetError):
        return answers_plain_http(url, min(timeout, HANDSHAKE_WAIT))
    except OSError:
        return False  # refused, unresolvable...: the real call says so


def plain_http_hint(url: str, timeout: float) -> str:
    """'; the server speaks plain HTTP; use http://...' for a failed https:// call, else ''."""
    if _endpoint(url) is not None and answers_plain_http(url, min(timeout, HANDSHAKE_WAIT)):
        return "; " + PLAIN_HINT.format(url=plain_url(url))
    return ""
