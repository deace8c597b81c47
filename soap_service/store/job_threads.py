"""Threads that run blocking database jobs for the event loop, with one cheap hop each way.

A job goes to the threads through a SimpleQueue and its result comes back with one
`call_soon_threadsafe`; its time bound is one `call_later` on the loop. That is the whole
hand-off: ThreadPoolExecutor + `asyncio.wrap_future` + `asyncio.wait_for` did the same with a
concurrent future, two chained futures, a waiter and their callbacks, about 30 us more per
call with the server on one core (every cached read makes one such hop for its data version,
every write one for its transaction).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_STOP = None  # put once per thread by shutdown()


class JobsClosed(RuntimeError):
    """The threads were shut down: no job is accepted any more."""


class JobThreads:
    """`count` daemon threads taking jobs from one queue, in the order submitted."""

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}_{i}", daemon=True)
                         for i in range(count)]
        for thread in self._threads:
            thread.start()

    async def run(self, job: Callable[[], T], timeout: float) -> T:
        """The job's result (or exception), run on one of the threads; TimeoutError if it has
        not finished within `timeout` seconds (it is then left to finish unobserved)."""
        if self._closed:
            raise JobsClosed("job threads shut down")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((loop, future, job))
        expiry = loop.call_later(timeout, _expire, future)
        try:
            return await future
        finally:
            expiry.cancel()

    def shutdown(self) -> None:
        """Stop taking jobs; the callers of jobs still queued get JobsClosed, the threads end
        after the job they are running."""
        self._closed = True
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                loop, future, _job = item
                _deliver(loop, future, None, JobsClosed("job threads shut down"))
        for _ in self._threads:
            self._queue.put(_STOP)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            loop, future, job = item
            if future.done():  # cancelled or timed out while queued: nobody wants it
                continue
            try:
                result = job()
            except BaseException as exc:  # handed to the caller, whatever it is
                _deliver(loop, future, None, exc)
            else:
                _deliver(loop, future, result, None)


def _deliver(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
             error: BaseException | None) -> None:
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:  # the loop is closed: the caller is gone with it
        pass


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return  # timed out or cancelled meanwhile
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())
