"""Auto-pipelining: Redis commands issued during one event-loop tick go out as one pipeline."""

from __future__ import annotations

import asyncio
import inspect
import math
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from soap_service.state.resp import pack_commands

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.connection import AbstractConnection

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
        # One connection of our own, outside the pool: only one pipeline is ever in flight,
        # and skipping the pool's checkout saves CPU on every batch.
        self._connection: AbstractConnection = client.connection_pool.make_connection()

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
            await self._round_trip(batch)
        except asyncio.CancelledError:
            for _, _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to every caller still waiting
            # The connection is in an unknown state (half a reply read, or none): drop it so
            # the next batch reconnects, and give the error to everyone not yet answered.
            await self._connection.disconnect()
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        finally:
            self._sending = None
            if self._queue and not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    async def _round_trip(self, batch: list[_Call]) -> None:
        """What redis-py's Pipeline.execute does, minus its per-call pool checkout, retry
        wrapper and metrics, which cost more CPU than the commands: one write, then the
        replies in order, each through the client's response callback.

        The commands are written by state/resp.py (redis-py's packing cost ~12 us a command,
        more than the rest of its round trip), and the replies are read under one time bound
        for the batch, the connection's socket timeout, instead of one timer per reply."""
        connection = self._connection
        commands = [args for args, _, _ in batch]
        packed = pack_commands(commands, connection.encoder.encoding)
        await connection.send_packed_command(
            packed if packed is not None else connection.pack_commands(commands)
        )
        callbacks = self._client.response_callbacks
        try:
            async with asyncio.timeout(connection.socket_timeout):
                await self._read_replies(batch, callbacks)
        except TimeoutError:
            raise RedisTimeoutError("Timeout reading the pipeline's replies") from None

    async def _read_replies(self, batch: list[_Call], callbacks: Any) -> None:
        connection = self._connection
        for args, options, future in batch:
            try:
                # No timer per reply: the batch's bound is around this loop (math.inf is
                # redis-py's documented "no timeout" for one read).
                reply = await connection.read_response(timeout=math.inf)
            except ResponseError as exc:
                # An error reply: the connection is still in step, only this caller fails.
                if not future.done():
                    future.set_exception(exc)
                continue
            if future.done():
                continue  # the caller went away (cancelled); nobody wants the reply
            callback = callbacks.get(args[0])
            if callback is not None:
                reply = callback(reply, **options)
                if inspect.isawaitable(reply):
                    reply = await reply
            future.set_result(reply)

    async def aclose(self) -> None:
        """Let the pipeline in flight finish (on shutdown), then close the connection."""
        while self._sending is not None or self._queue:
            if self._sending is not None:
                await asyncio.shield(self._sending)
            else:
                await asyncio.sleep(0)
        await self._connection.disconnect()
