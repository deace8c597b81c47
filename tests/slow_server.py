"""TEST ONLY: `python -m tests.slow_server SECONDS serve ...` runs highway-server with a stage that
waits SECONDS (without blocking the reactor) before each operation, so tests can hold requests
in flight. The production server has no such setting; this injects the stage in-process."""

from __future__ import annotations

import asyncio
import sys

from soap_service.core.exchange import Exchange
from soap_service.ratelimit import build


class OperationDelay:
    """Waits on the event loop before the operation (after the per-principal limit)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(self, exchange: Exchange) -> None:
        """Sleep without blocking the reactor."""
        await asyncio.sleep(self.seconds)


def inject(seconds: float) -> None:
    """Make every RateLimiting built from now on end its after-authorization stages with a delay."""
    original = build.RateLimiting.after_authorization.fget
    assert original is not None
    delay = OperationDelay(seconds)
    build.RateLimiting.after_authorization = property(  # type: ignore[method-assign,assignment]
        lambda self: [*original(self), delay])


def main(argv: list[str]) -> int:
    """Inject the delay, then run highway-server with the remaining arguments."""
    inject(float(argv[0]))
    from soap_service.cli import main as server_main

    return server_main(argv[1:])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
