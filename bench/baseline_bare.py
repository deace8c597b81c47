"""Baseline A: a bare twisted.web endpoint that answers every POST with canned response bytes.

This is the ceiling: the same reactor (asyncio), HTTP parsing and response writing as our
service, and nothing else. The canned bytes are a real GetTravelTimes answer (captured from
baseline B by the benchmark), so responses are the same size.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from twisted.web import resource, server


class CannedResource(resource.Resource):
    """Reads the request body, returns the canned answer."""

    isLeaf = True

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self._body = body
        self._length = str(len(body)).encode("ascii")

    def render_POST(self, request: server.Request) -> bytes:  # noqa: N802 - twisted's naming
        """Answer 200 with the canned envelope."""
        if request.content is not None:
            request.content.read()
        request.setHeader(b"Content-Type", b"text/xml; charset=utf-8")
        request.setHeader(b"Content-Length", self._length)
        return self._body


def main(argv: list[str] | None = None) -> int:
    """Serve the canned answer on 127.0.0.1:PORT until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--response", required=True, help="file with the canned response")
    args = parser.parse_args(argv)
    from soap_service.web.listener import install_reactor

    reactor: Any = install_reactor()
    with open(args.response, "rb") as handle:
        body = handle.read()
    site = server.Site(CannedResource(body), reactor=reactor)
    site.noisy = False
    port = reactor.listenTCP(args.port, site, interface="127.0.0.1")
    print(f"bare listening on http://127.0.0.1:{port.getHost().port}/soap",
          file=sys.stderr, flush=True)
    reactor.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
