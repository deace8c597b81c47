"""Auto-pipelining: Redis commands issued during one event-loop tick go out as one pipeline."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis

# One queued command: its arguments, redis-py options (e.g. the response-callback name) and
# the future its caller awaits.
_Call = tuple[tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]


class RedisBatcher:
    """Sends queued commands as one non-transactional pipeline: one write, one read.

    Each redis-py command costs this process far more CPU than the Redis round trip itself,
    so requests in flight together share a pipeline instead of paying one each. At most one
    pipeline is in flight: commands queued meanwhile wait for it and go out together next,
    which both grows the batches under load and keeps commands in the order they were issued.
    A per-command error (e.g. NOSCRIPT) fails only its caller; a connection error or timeout
    fails every caller in that pipeline with it, so fail-closed users see the outage.
    """

    def __init__(self, client: Redis) -> None:
        self._client = client
        self._queue: list[_Call] = []
        self._scheduled = False  # a flush is queued with call_soon
        self._sending: asyncio.Task[None] | None = None  # the pipeline in flight

    def execute(self, *args: Any, **options: Any) -> asyncio.Future[Any]:
        """Queue one command (as for redis-py's execute_command); await the returned future
        for its reply, already passed through redis-py's response callback."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((args, options, future))
        if not self._scheduled and self._sending is None:
            self._scheduled = True
            # call_soon runs after the callbacks already ready, so every request the loop is
            # handling in this tick gets to queue its command first.
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        self._scheduled = False
        if self._sending is not None or not self._queue:
            return
        batch, self._queue = self._queue, []
        self._sending = asyncio.get_running_loop().create_task(self._send(batch))

    async def _send(self, batch: list[_Call]) -> None:
        try:
            pipe = self._client.pipeline(transaction=False)
            for args, options, _ in batch:
                pipe.execute_command(*args, **options)
            try:
                replies = await pipe.execute(raise_on_error=False)
            except asyncio.CancelledError:
                for _, _, future in batch:
                    future.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - handed to every caller to judge
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
            for (_, _, future), reply in zip(batch, replies, strict=True):
                if future.done():
                    continue  # the caller went away (cancelled); nobody wants the reply
                if isinstance(reply, Exception):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        finally:
            self._sending = None
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    async def aclose(self) -> None:
        """Let the pipeline in flight finish (on shutdown); queued commands still go out."""
        while self._sending is not None or self._queue:
            if self._sending is not None:
                await asyncio.shield(self._sending)
            else:
                await asyncio.sleep(0)
