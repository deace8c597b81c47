"""A minimal Site with the front door's HTTP layer, for tests: `python harness_server.py JSON`.

JSON holds FrontDoorSettings fields. The resource answers 200 with what it saw (body length,
parsed form args, content type) so tests can check what reached the application.
"""

from __future__ import annotations

import dataclasses
import json
import sys

from twisted.internet import reactor
from twisted.web import resource, server

from soap_service.frontdoor.http_layer import cap_connections, install_front_door
from soap_service.frontdoor.settings import FrontDoorSettings


class Echo(resource.Resource):
    """Reports what the request carried."""

    isLeaf = True

    def render(self, request: server.Request) -> bytes:
        body = request.content.read() if request.content is not None else b""
        facts = {
            "length": len(body),
            "args": len(request.args or {}),
            "content": type(request.content).__name__,
        }
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(facts).encode()


def main() -> None:
    settings = FrontDoorSettings(**json.loads(sys.argv[1]))
    site = server.Site(Echo(), reactor=reactor)
    install_front_door(site, settings)
    port = reactor.listenTCP(0, cap_connections(site, settings), interface="127.0.0.1")
    print(f"PORT {port.getHost().port} {json.dumps(dataclasses.asdict(settings))}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
