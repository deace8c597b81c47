"""Fences around the private internals of zeep and http.client that the client relies on.

Importing this module checks that the installed zeep (and Python) are inside the range these
internals were tested with, and fails with a clear message otherwise. Relied on (tested in
tests/client/test_compat.py):
- zeep's `ServiceProxy._binding_options["address"]`: the endpoint a service proxy posts to
  (zeep offers no public accessor);
- http.client's `HTTPConnection._send_output()` hook and its `_buffer`, the list of request
  and header lines `putrequest`/`putheader` collected (typeshed leaves both out);
- requests' `Response._content`: a Response built by hand gets its body there (requests'
  own adapters and test tools do the same; there is no public setter).
"""

from __future__ import annotations

import http.client
import sys
from importlib.metadata import version
from typing import Any

ZEEP_TESTED = ((4, 3), (4, 4))  # lowest supported, first unsupported (major, minor)
REQUESTS_TESTED = ((2, 34), (3, 0))
PYTHON_TESTED = ((3, 11), (3, 12))  # setup.cfg: python_requires


class UnsupportedVersion(ImportError):
    """zeep or Python is outside the range the client's use of their internals was tested with."""


def _check(name: str, found: str, tested: tuple[tuple[int, int], tuple[int, int]]) -> None:
    """Raise UnsupportedVersion unless `found` (a version string) lies in `tested`."""
    parts = tuple(int(p) for p in found.split(".")[:2] if p.isdigit())
    lowest, below = tested
    if not lowest <= parts < below:
        raise UnsupportedVersion(
            f"{name} {found} is installed, but the highway client relies on its internals and "
            f"was tested with {name} >= {'.'.join(map(str, lowest))}, "
            f"< {'.'.join(map(str, below))}: see client/compat.py."
        )


_check("zeep", version("zeep"), ZEEP_TESTED)
_check("requests", version("requests"), REQUESTS_TESTED)
_check("Python", f"{sys.version_info[0]}.{sys.version_info[1]}", PYTHON_TESTED)


def service_address(service: Any) -> str:
    """The endpoint address of a zeep service proxy (`client.service` or `bind(...)`)."""
    return str(service._binding_options["address"])


def set_body(response: Any, content: bytes) -> None:
    """Give a hand-built requests.Response its (already read) body."""
    response._content = content


class OneWriteConnection(http.client.HTTPConnection):
    """Sends the request line, headers and a bytes body in one write.

    http.client writes the headers and the body separately: two segments, two wake-ups of the
    server for one small request (measured: each write cost ~0.3 ms of wall time on loopback).
    """

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if not isinstance(message_body, bytes):
            super()._send_output(  # type: ignore[misc]
                message_body, encode_chunked=encode_chunked)
            return
        lines = self._buffer  # type: ignore[attr-defined]
        lines.extend((b"", b""))
        head = b"\r\n".join(lines)
        del lines[:]
        self.send(head + message_body)
